"""The study file's schema: every section, its keys, their types, defaults and meaning.

The study file format is declared here, once, and versioned (``SCHEMA_VERSION``); it does
not follow the signatures of the functions a study calls, so renaming a Python keyword never
changes the file format (``tests/test_schema.py`` checks that every key still reaches its
function, and pins the schema against a snapshot: a change needs a version bump and a
migration, or, for a new key, a new snapshot).

A file may say which version it is written for, at the top level::

    schema_version = 1

Without it the file is read as the current version. A newer version than this hyperinsync
knows is an error that says so; an older one is migrated (``MIGRATIONS``), and older
spellings of keys and values (``RENAMED``; ``correction = "none"``) are read with a
``FutureWarning`` naming the new spelling.

Each section (:class:`Section`) lists its keys (:class:`Key`): the TOML types a value may
have, its default (``filled``: the study writes it into its parameters; otherwise the default
of the function the key reaches applies, or, for ``'[analysis]'``, the ``[analysis]`` value),
and what it means. ``hyperinsync.study.checks.check_section`` refuses an unknown key,
naming the section, the key and the closest valid key.

The ``[reader]`` section (:mod:`~hyperinsync.study.schema_reader`), those of lagged synchrony
(:mod:`~hyperinsync.study.schema_physio`) and those of simulated studies
(:mod:`~hyperinsync.study.schema_simulate`) are declared in their own modules; ``SECTIONS``
here lists every section.
"""

from __future__ import annotations

from .schema_keys import (  # noqa: F401  (Key: hyperinsync.study.schema.Key)
    _KEEP_ROLES,
    _PSEUDO_SESSION,
    Key,
    Section,
    _k,
)
from .schema_physio import (  # noqa: F401  (LAGGED: hyperinsync.study.schema.LAGGED)
    COMPANION,
    LAGGED,
    LAGGED_PSEUDO,
    MOVEMENT,
    PHYSIO,
)
from .schema_reader import (  # noqa: F401  (hyperinsync.study.schema.FORMATS, ...)
    FORMATS,
    READER,
    READER_APPLIED,
    READER_BY_MODE,
)
from .schema_simulate import SIMULATE, SIMULATE_PHYSIO

SCHEMA_VERSION = 1

# the default of an [insync] / [surrogates] / pseudo-dyad key that [analysis] supplies
FROM_ANALYSIS = "[analysis]"


# the signal options (hyperinsync.sync.DyadSignals), as every analysis section spells them
def _signal_keys(default=None, *, n_jobs=False):
    """Return the signal option keys (``default``: FROM_ANALYSIS where [analysis] supplies them)."""
    d = (lambda x: x) if default is None else (lambda x: default)
    keys = [
        _k(
            "reject_by_annotation",
            "boolean",
            "Leave out epochs and windows that touch BAD_ annotations.",
            d(True),
        ),
        _k(
            "picks",
            "text|list",
            "Channels (role-prefixed) to use; default: the good data channels of both people.",
            d(None),
        ),
        _k(
            "method",
            "text",
            "How band analytic signals are made: fft | mne_fir | morlet "
            "(Levels 1-2: fft | mne_fir).",
            d("fft"),
        ),
        _k(
            "decim",
            "integer|text",
            "Keep every decim-th sample of the band signals, or 'auto'.",
            d("auto"),
        ),
        _k("n_cycles", "number|list", "Morlet cycles per frequency (method = 'morlet').", d(7.0)),
        _k("freq_step", "number", "Morlet frequency spacing within a band, Hz.", d(1.0)),
        _k(
            "l_trans_bandwidth",
            "number|text",
            "Lower transition band of the filter, Hz, or 'auto' (MNE's default).",
            d("auto"),
        ),
        _k(
            "h_trans_bandwidth",
            "number|text",
            "Upper transition band of the filter, Hz, or 'auto'.",
            d("auto"),
        ),
        _k(
            "precision",
            "text",
            "single | double: complex64 or complex128 band signals.",
            d("single"),
        ),
        _k("backend", "text", "Array backend: auto | numpy | cupy.", d("auto")),
    ]
    if n_jobs:
        keys.append(_k("n_jobs", "integer", "Parallel jobs of the step (-1: all cores).", 1))
    keys.append(
        _k(
            "max_bytes",
            "number|text",
            "Approximate memory bound of one chunk of "
            "work, bytes, or 'auto' (256 MB on the CPU, an eighth of the GPU's free "
            "memory on a GPU).",
            d("auto"),
        )
    )
    return tuple(keys)


_SIGNALS = tuple(k.name for k in _signal_keys() if k.name != "n_jobs")
_CORRECTION_DOC = "Correction over the step's tests: {}; false: none (older spelling 'none')."

STUDY = Section(
    "study",
    "[study]",
    "The study: its name, the two roles and where files are.",
    (
        _k("name", "text|integer|number", "Study name.", "study", True),
        _k(
            "roles",
            "list",
            "The two roles, as in the channel names ('<role>:<channel>').",
            ["A", "B"],
            True,
        ),
        _k(
            "groups",
            "list",
            "Allowed group labels of the dyads (catches typos); default: any.",
            None,
            True,
        ),
        _k(
            "data_dir",
            "text",
            "Folder that file paths start from, relative to the study file; "
            "default: the study file's folder.",
            None,
        ),
    ),
)

ANALYSIS = Section(
    "analysis",
    "[analysis]",
    "What hyperinsync.compute_sync computes for "
    "every segment of every recording; bands, rois, epoch_duration and the "
    "signal options also reach the surrogates, the pseudo-dyads and Levels 1-2.",
    (
        _k(
            "bands",
            "table",
            "Frequency bands {name = [fmin, fmax]}, Hz.",
            {"theta": [4.0, 8.0], "alpha": [8.0, 13.0]},
            True,
        ),
        _k(
            "measures",
            "text|list",
            "Synchrony measures: plv, coh, imcoh, wpli, ccorr, envcorr.",
            ["plv"],
            True,
        ),
        _k(
            "rois",
            "text|table",
            "A bundled ROI set, an ROI file, or {name = [channels]}.",
            "default",
            True,
        ),
        _k(
            "segments",
            "text|list",
            "Annotation descriptions analysed separately; 'all': the whole recording.",
            ["all"],
            True,
        ),
        _k("epoch_duration", "number", "Epoch length, s.", 2.0, True),
        _k("overlap", "number", "Overlap of consecutive epochs, s.", 0.0),
        _k(
            "convention",
            "text",
            "within (over each epoch's samples) | across (over epochs).",
            "within",
        ),
    )
    + _signal_keys(),
    function="hyperinsync.compute_sync",
)

SURROGATES = Section(
    "surrogates",
    "[surrogates]",
    "The surrogate test of every segment (hyperinsync.stats.surrogate_test); false skips it.",
    (
        _k(
            "null",
            "text",
            "Null model: epoch_shuffle | circular_shift | segment_shuffle | phase_randomization.",
            "epoch_shuffle",
            True,
        ),
        _k("n_surrogates", "integer", "Number of surrogates.", 200, True),
        _k("seed", "integer", "Random seed.", 0, True),
        _k("correction", "text|boolean", _CORRECTION_DOC.format("fdr | maxstat"), "fdr"),
        _k("tail", "text|table", "auto | greater | less | two-sided, or {measure = tail}.", "auto"),
        _k("signed", "boolean", "Keep the sign of ccorr and imcoh.", False),
        _k("min_shift", "number", "Smallest circular shift, s.", 2.0),
        _k("epoch_duration", "number", "Epoch length, s.", FROM_ANALYSIS),
        _k("segment_duration", "number", "Segment length of segment_shuffle, s.", 30.0),
    )
    + _signal_keys(FROM_ANALYSIS, n_jobs=True),
    form="table or false",
    function="hyperinsync.stats.surrogate_test",
    receives=("bands", "rois", "epoch_duration") + _SIGNALS,
)

INSYNC = Section(
    "insync",
    "[insync]",
    "The In-Sync levels; a level set to false is skipped.",
    (
        _k("level1", "table|boolean", "Level 1 (phasic) options.", {}),
        _k("level2", "table|boolean", "Level 2 (tonic) options.", {}),
        _k("level3", "table|boolean", "Level 3 (chronic) options.", {}),
    ),
)

_WINDOW_KEYS = (
    _k("bands", "table", "Frequency bands.", FROM_ANALYSIS),
    _k("rois", "text|table", "ROIs.", FROM_ANALYSIS),
)
LEVEL1 = Section(
    "insync.level1",
    "[insync] level1",
    "In-Sync Level 1: sliding-window synchrony and its episodes (hyperinsync.insync.level1).",
    _WINDOW_KEYS
    + (
        _k("segment", "text", "The annotation to analyse; 'all': the whole recording.", "all"),
        _k("measure", "text", "plv | coh | imcoh.", "plv"),
        _k("window", "number", "Window length, s (0.3-10).", 6.0),
        _k("step", "number", "Window step, s.", 0.5),
        _k(
            "n_surrogates",
            "integer",
            "Block shuffles and circular shifts (older spelling n_null).",
            200,
        ),
        _k("shuffle_block", "number|text", "Length of the shuffled pieces, s, or 'auto'.", "auto"),
        _k("min_shift", "number", "Smallest circular shift, s.", 10.0),
        _k("alpha", "number", "Significance level of the windows.", 0.05),
        _k("correction", "text|boolean", _CORRECTION_DOC.format("maxstat"), "maxstat"),
        _k("merge_gap", "number", "Episodes closer than this are merged, s.", 1.0),
        _k("min_duration", "number", "Shorter episodes are dropped, s; default: keep all.", None),
        _k("lead_lag", "boolean", "Estimate lag, leader and phase relation per episode.", True),
        _k("max_lag", "number", "Largest lag searched, s.", 1.0),
        _k("seed", "integer", "Random seed.", None),
    )
    + _signal_keys(FROM_ANALYSIS),
    form="table or false",
    function="hyperinsync.insync.level1",
    receives=("bands", "rois") + _SIGNALS,
)

LEVEL2 = Section(
    "insync.level2",
    "[insync] level2",
    "In-Sync Level 2: synchrony per segment "
    "and block, and their changes (hyperinsync.insync.level2).",
    _WINDOW_KEYS
    + (
        _k(
            "segments",
            "text|list",
            "Annotation descriptions; default: every description but BAD*, EDGE* and insync/*.",
            None,
        ),
        _k("block", "number", "Also analyse consecutive blocks of this length, s.", None),
        _k("measure", "text", "plv | coh | imcoh.", "plv"),
        _k("epoch_duration", "number", "Epoch length, s.", FROM_ANALYSIS),
        _k("null", "text", "circular_shift | epoch_shuffle.", "circular_shift"),
        _k("n_surrogates", "integer", "Surrogates per segment (older spelling n_null).", 200),
        _k("alpha", "number", "Level of the corrected p-values.", 0.05),
        _k("correction", "text|boolean", _CORRECTION_DOC.format("maxstat | fdr"), "maxstat"),
        _k("tail", "text", "auto | greater | less | two-sided.", "auto"),
        _k(
            "contrasts",
            "list",
            "Segment pairs [a, b] tested as a - b.",
            [["rest_post", "rest_pre"]],
        ),
        _k("n_permutations", "integer", "Permutations of each contrast's per-epoch test.", 5000),
        _k("seed", "integer", "Random seed.", None),
    )
    + _signal_keys(FROM_ANALYSIS),
    form="table or false",
    function="hyperinsync.insync.level2",
    receives=("bands", "rois", "epoch_duration") + _SIGNALS,
)

LEVEL3 = Section(
    "insync.level3",
    "[insync] level3",
    "In-Sync Level 3: session trends of "
    "every feature (hyperinsync.insync.level3; needs 3 sessions per dyad).",
    (
        _k(
            "n_permutations",
            "integer",
            "Permutations of session order; default: [statistics] n_permutations.",
            "[statistics]",
        ),
        _k("seed", "integer", "Random seed; default: [statistics] seed.", "[statistics]"),
    ),
    form="table or false",
    function="hyperinsync.insync.level3",
)

STATISTICS = Section(
    "statistics",
    "[statistics]",
    "The group statistics (see 'Group statistics' in hyperinsync.study.config); false skips them.",
    (
        _k("n_permutations", "integer", "Permutations of every group test.", 5000, True),
        _k("seed", "integer", "Random seed.", 0, True),
        _k("rois", "list", "Same-ROI pairs to test; default: all.", None, True),
        _k("feature", "text", "Per-dyad value: z | corrected | raw.", "z", True),
        _k("correction", "text|boolean", "Over the features: fdr | maxstat | false.", "fdr", True),
        _k("statistic", "text", "Permuted group statistic: welch | F.", "welch", True),
        _k("ci", "number", "Level of the confidence intervals.", 0.95, True),
        _k(
            "contrast",
            "text|boolean",
            "Compare the dyads' groups ('group'); false: skip.",
            "group",
            True,
        ),
        _k("differences", "table", "Derived variables {name = [minuend, subtrahend]}.", {}, True),
        _k("correlate", "list", "Per-dyad variables correlated with synchrony.", [], True),
        _k("mixed", "boolean", "Group x segment x band x ROI mixed model.", True, True),
        _k("pseudo_dyads", "table|boolean", "Real vs pseudo-dyads options; false: skip.", {}, True),
    ),
    form="table or false",
)

PSEUDO_DYADS = Section(
    "statistics.pseudo_dyads",
    "[statistics] pseudo_dyads",
    "Real dyads "
    "against pseudo-dyads, per segment, on one session of every dyad "
    "(hyperinsync.stats.pseudo_dyad_test).",
    (
        _PSEUDO_SESSION,
        _k("n_surrogates", "integer", "Pseudo-dyads drawn; default: all.", None),
        _KEEP_ROLES,
        _k("correction", "text|boolean", _CORRECTION_DOC.format("fdr | maxstat"), "fdr"),
        _k("tail", "text|table", "auto | greater | less | two-sided, or {measure = tail}.", "auto"),
        _k("signed", "boolean", "Keep the sign of ccorr and imcoh.", False),
        _k("seed", "integer", "Random seed; default: [statistics] seed.", "[statistics]"),
        _k("epoch_duration", "number", "Epoch length, s.", FROM_ANALYSIS),
    )
    + _signal_keys(FROM_ANALYSIS, n_jobs=True),
    form="table or false",
    function="hyperinsync.stats.pseudo_dyad_test",
    receives=("bands", "rois", "epoch_duration") + _SIGNALS,
)

DYADS = Section(
    "dyads",
    "[[dyads]]",
    "One table per dyad.",
    (
        _k("name", "text", "Dyad name (it names the dyad's part files).", None),
        _k("group", "text|integer", "Group label.", None),
        _k("variables", "table", "Per-dyad variables {name = number} (questionnaires).", None),
        _k("sessions", "list", "The dyad's sessions ([[dyads.sessions]]).", None),
    ),
    form="array of tables",
)

SESSIONS = Section(
    "dyads.sessions",
    "[[dyads.sessions]]",
    "One table per session of a dyad.",
    (
        _k("index", "integer", "Session index; default: its position.", None),
        _k("date", "date|text", "Session date (YYYY-MM-DD).", None),
        _k("files", "table", "{role = path}: one EEG file per person.", None),
        _k("file", "text", "One EEG file holding both people.", None),
        _k("reader", "table", "Reader options overriding [reader].", None),
        _k(
            "variables",
            "table",
            "Per-session variables {name = number} (e.g. the session's alliance ratings).",
            None,
        ),
        _k(
            "physio",
            "table",
            "The session's physiological files ([[dyads.sessions]] physio); "
            "default: [physio] reads the channels of the EEG recording.",
            None,
        ),
        _k(
            "movement",
            "table",
            "The session's movement files, e.g. an MEA file; default: "
            "[movement] reads the channels of the EEG recording.",
            None,
        ),
        _k(
            "annotations",
            "text",
            "An annotations file (mne.read_annotations: .csv, .txt, .fif) "
            "added to every recording of the session, e.g. segments coded from video; onsets in "
            "s from each recording's first sample, or absolute times.",
            None,
        ),
    ),
    form="array of tables",
)

TOP = Section(
    "",
    "the study file (top level)",
    "The study file.",
    (
        _k("study", "table", "[study].", None),
        _k("reader", "table", "[reader].", None),
        _k("analysis", "table", "[analysis].", None),
        _k("surrogates", "table|boolean", "[surrogates].", None),
        _k("insync", "table", "[insync].", None),
        _k("statistics", "table|boolean", "[statistics].", None),
        _k("dyads", "list", "[[dyads]].", None),
        _k("simulate", "table", "[simulate].", None),
        _k("physio", "table", "[physio].", None),
        _k("movement", "table", "[movement].", None),
        _k("simulate_physio", "table", "[simulate_physio].", None),
        _k(
            "schema_version",
            "integer",
            "The schema version the file is written for; default: the current one.",
            SCHEMA_VERSION,
        ),
    ),
)

# every section, by dotted name
SECTIONS = {
    s.name: s
    for s in (
        TOP,
        STUDY,
        READER,
        ANALYSIS,
        SURROGATES,
        INSYNC,
        LEVEL1,
        LEVEL2,
        LEVEL3,
        STATISTICS,
        PSEUDO_DYADS,
        DYADS,
        SESSIONS,
        COMPANION,
        SIMULATE,
        PHYSIO,
        MOVEMENT,
        LAGGED_PSEUDO,
        SIMULATE_PHYSIO,
    )
}

# older spellings read with a FutureWarning: (section, old key) -> current key
RENAMED = {
    ("insync.level1", "n_null"): "n_surrogates",
    ("insync.level2", "n_null"): "n_surrogates",
}
# sections whose `correction` once took the text "none" (now false)
CORRECTION_NONE = ("surrogates", "insync.level1", "insync.level2", "statistics.pseudo_dyads")

# schema_version v -> function migrating a file of version v to v + 1 (none yet: version 1
# is the first; a change that alters the meaning of a file adds one here)
MIGRATIONS = {}


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def schema_dict():
    """Return the schema as plain data: ``{section: {key: {'types', 'default', 'filled'}}}``.

    Returns
    -------
    schema : dict
        With ``schema_version``; what ``tests/test_schema.py`` compares with its snapshot.
    """
    return dict(
        schema_version=SCHEMA_VERSION,
        sections={
            s.name or "(top level)": {
                k.name: dict(types=list(k.types), default=_plain(k.default), filled=k.filled)
                for k in s.keys
            }
            for s in SECTIONS.values()
        },
    )
