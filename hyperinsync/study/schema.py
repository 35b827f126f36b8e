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
"""

from __future__ import annotations

from .schema_keys import Key, Section, _k  # noqa: F401  (Key: hyperinsync.study.schema.Key)

SCHEMA_VERSION = 1

# the default of an [insync] / [surrogates] / pseudo-dyad key that [analysis] supplies
FROM_ANALYSIS = "[analysis]"


# the signal options (hyperinsync.sync.DyadSignals), as every analysis section spells them
def _signal_keys(default=None, *, n_jobs=False):
    """Return the signal option keys (``default``: FROM_ANALYSIS where [analysis] supplies them)."""
    d = (lambda x: x) if default is None else (lambda x: default)
    keys = [
        _k("reject_by_annotation", "boolean", "Leave out epochs and windows that touch "
           "BAD_ annotations.", d(True)),
        _k("picks", "text|list", "Channels (role-prefixed) to use; default: the good data "
           "channels of both people.", d(None)),
        _k("method", "text", "How band analytic signals are made: fft | mne_fir | morlet "
           "(Levels 1-2: fft | mne_fir).", d("fft")),
        _k("decim", "integer|text", "Keep every decim-th sample of the band signals, or "
           "'auto'.", d("auto")),
        _k("n_cycles", "number|list", "Morlet cycles per frequency (method = 'morlet').",
           d(7.0)),
        _k("freq_step", "number", "Morlet frequency spacing within a band, Hz.", d(1.0)),
        _k("l_trans_bandwidth", "number|text", "Lower transition band of the filter, Hz, "
           "or 'auto' (MNE's default).", d("auto")),
        _k("h_trans_bandwidth", "number|text", "Upper transition band of the filter, Hz, "
           "or 'auto'.", d("auto")),
        _k("precision", "text", "single | double: complex64 or complex128 band signals.",
           d("single")),
        _k("backend", "text", "Array backend: auto | numpy | cupy.", d("auto")),
    ]
    if n_jobs:
        keys.append(_k("n_jobs", "integer", "Parallel jobs of the step (-1: all cores).", 1))
    keys.append(_k("max_bytes", "number|text", "Approximate memory bound of one chunk of "
                   "work, bytes, or 'auto' (256 MB on the CPU, an eighth of the GPU's free "
                   "memory on a GPU).", d("auto")))
    return tuple(keys)


_SIGNALS = tuple(k.name for k in _signal_keys() if k.name != "n_jobs")
_CORRECTION_DOC = ("Correction over the step's tests: {}; false: none (older spelling "
                   "'none').")

STUDY = Section("study", "[study]", "The study: its name, the two roles and where files are.", (
    _k("name", "text|integer|number", "Study name.", "study", True),
    _k("roles", "list", "The two roles, as in the channel names ('<role>:<channel>').",
       ["A", "B"], True),
    _k("groups", "list", "Allowed group labels of the dyads (catches typos); default: any.",
       None, True),
    _k("data_dir", "text", "Folder that file paths start from, relative to the study file; "
       "default: the study file's folder.", None),
))

_READER_KEYS = (
    _k("format", "text", "auto | poly5 | xdf | fif | split | mne.", "auto"),
    _k("rename_annotations", "table", "Annotation descriptions renamed as read, {old = new} "
       "(e.g. BrainVision's {'Comment/rest' = 'rest'}: segment names cannot hold '/').", None),
    # two files (hyperinsync.io.read_dyad_files)
    _k("sync", "text", "Two files: align on sync pulses (events), LSL clocks (lsl), start "
       "times (start) or auto.", "auto"),
    _k("stim_channel", "text|list", "Two files: the channel with the sync pulses (one, or one "
       "per file).", None),
    _k("event_id", "integer|list", "Two files: pulse codes to use; default: every event.",
       None),
    _k("annotation", "text|list", "Two files: annotations used as pulses instead of a stim "
       "channel.", None),
    _k("tolerance_ms", "number", "Two files: largest pulse timing error accepted, ms.", 2.0),
    _k("pulse_pairing", "text", "Two files: intervals | order.", "intervals"),
    _k("montage", "text|list", "Electrode positions: a montage name or file (or one per "
       "person).", None),
    _k("reader_kwargs", "table|list", "Extra arguments of each file's reader.", None),
    # one XDF file (hyperinsync.io.read_dyad_xdf)
    _k("streams", "list", "XDF: the two EEG streams, in role order.", None),
    _k("select_by", "text", "XDF: the stream field streams names: name | type | source_id "
       "| hostname.", "name"),
    _k("sfreq", "number", "XDF: sampling rate of the common grid, Hz.", None),
    _k("markers", "boolean|list", "XDF: marker streams that become annotations.", True),
    _k("gap_threshold", "number", "XDF: a longer jump between time stamps splits a stream, s.",
       None),
    # one file, two caps (hyperinsync.io.split_dyad)
    _k("pattern", "text", "Split: regular expression with groups name and role.", None),
    _k("mapping", "table", "Split: {role = [channels]} instead of pattern.", None),
    _k("role_map", "table", "Split: {role text in the channel name = role}.", None),
    _k("shared", "list|text", "Split: channels copied to both people (or to shared_to).",
       None),
    _k("shared_to", "text", "Split: both, or the role that gets the shared channels.", "both"),
)
READER = Section("reader", "[reader]", "Reader options of every recording; a session's "
                 "reader table overrides them.", _READER_KEYS,
                 function="hyperinsync.io.read_dyad_files / read_dyad_xdf / split_dyad")
# which reader options apply to which kind of recording
READER_BY_MODE = {
    "files": ("sync", "stim_channel", "event_id", "annotation", "tolerance_ms",
              "pulse_pairing", "montage", "reader_kwargs"),
    "xdf": ("streams", "select_by", "sfreq", "markers", "gap_threshold", "montage"),
    "split": ("pattern", "mapping", "role_map", "shared", "shared_to", "montage",
              "reader_kwargs"),
    "fif": (),
}
# reader keys the study applies itself to every recording, after its reader
READER_APPLIED = ("rename_annotations",)
FORMATS = ("auto", "poly5", "xdf", "fif", "split", "mne")

ANALYSIS = Section("analysis", "[analysis]", "What hyperinsync.compute_sync computes for "
                   "every segment of every recording; bands, rois, epoch_duration and the "
                   "signal options also reach the surrogates, the pseudo-dyads and Levels 1-2.", (
    _k("bands", "table", "Frequency bands {name = [fmin, fmax]}, Hz.",
       {"theta": [4.0, 8.0], "alpha": [8.0, 13.0]}, True),
    _k("measures", "text|list", "Synchrony measures: plv, coh, imcoh, wpli, ccorr, envcorr.",
       ["plv"], True),
    _k("rois", "text|table", "A bundled ROI set, an ROI file, or {name = [channels]}.",
       "default", True),
    _k("segments", "text|list", "Annotation descriptions analysed separately; 'all': the "
       "whole recording.", ["all"], True),
    _k("epoch_duration", "number", "Epoch length, s.", 2.0, True),
    _k("overlap", "number", "Overlap of consecutive epochs, s.", 0.0),
    _k("convention", "text", "within (over each epoch's samples) | across (over epochs).",
       "within"),
) + _signal_keys(), function="hyperinsync.compute_sync")

SURROGATES = Section("surrogates", "[surrogates]", "The surrogate test of every segment "
                     "(hyperinsync.stats.surrogate_test); false skips it.", (
    _k("null", "text", "Null model: epoch_shuffle | circular_shift | segment_shuffle | "
       "phase_randomization.", "epoch_shuffle", True),
    _k("n_surrogates", "integer", "Number of surrogates.", 200, True),
    _k("seed", "integer", "Random seed.", 0, True),
    _k("correction", "text|boolean", _CORRECTION_DOC.format("fdr | maxstat"), "fdr"),
    _k("tail", "text|table", "auto | greater | less | two-sided, or {measure = tail}.",
       "auto"),
    _k("signed", "boolean", "Keep the sign of ccorr and imcoh.", False),
    _k("min_shift", "number", "Smallest circular shift, s.", 2.0),
    _k("epoch_duration", "number", "Epoch length, s.", FROM_ANALYSIS),
    _k("segment_duration", "number", "Segment length of segment_shuffle, s.", 30.0),
) + _signal_keys(FROM_ANALYSIS, n_jobs=True), form="table or false",
    function="hyperinsync.stats.surrogate_test",
    receives=("bands", "rois", "epoch_duration") + _SIGNALS)

INSYNC = Section("insync", "[insync]", "The In-Sync levels; a level set to false is skipped.", (
    _k("level1", "table|boolean", "Level 1 (phasic) options.", {}),
    _k("level2", "table|boolean", "Level 2 (tonic) options.", {}),
    _k("level3", "table|boolean", "Level 3 (chronic) options.", {}),
))

_WINDOW_KEYS = (
    _k("bands", "table", "Frequency bands.", FROM_ANALYSIS),
    _k("rois", "text|table", "ROIs.", FROM_ANALYSIS),
)
LEVEL1 = Section("insync.level1", "[insync] level1", "In-Sync Level 1: sliding-window "
                 "synchrony and its episodes (hyperinsync.insync.level1).", _WINDOW_KEYS + (
    _k("segment", "text", "The annotation to analyse; 'all': the whole recording.", "all"),
    _k("measure", "text", "plv | coh | imcoh.", "plv"),
    _k("window", "number", "Window length, s (0.3-10).", 6.0),
    _k("step", "number", "Window step, s.", 0.5),
    _k("n_surrogates", "integer", "Block shuffles and circular shifts (older spelling "
       "n_null).", 200),
    _k("shuffle_block", "number|text", "Length of the shuffled pieces, s, or 'auto'.", "auto"),
    _k("min_shift", "number", "Smallest circular shift, s.", 10.0),
    _k("alpha", "number", "Significance level of the windows.", 0.05),
    _k("correction", "text|boolean", _CORRECTION_DOC.format("maxstat"), "maxstat"),
    _k("merge_gap", "number", "Episodes closer than this are merged, s.", 1.0),
    _k("min_duration", "number", "Shorter episodes are dropped, s; default: keep all.", None),
    _k("lead_lag", "boolean", "Estimate lag, leader and phase relation per episode.", True),
    _k("max_lag", "number", "Largest lag searched, s.", 1.0),
    _k("seed", "integer", "Random seed.", None),
) + _signal_keys(FROM_ANALYSIS), form="table or false", function="hyperinsync.insync.level1",
    receives=("bands", "rois") + _SIGNALS)

LEVEL2 = Section("insync.level2", "[insync] level2", "In-Sync Level 2: synchrony per segment "
                 "and block, and their changes (hyperinsync.insync.level2).", _WINDOW_KEYS + (
    _k("segments", "text|list", "Annotation descriptions; default: every description but "
       "BAD*, EDGE* and insync/*.", None),
    _k("block", "number", "Also analyse consecutive blocks of this length, s.", None),
    _k("measure", "text", "plv | coh | imcoh.", "plv"),
    _k("epoch_duration", "number", "Epoch length, s.", FROM_ANALYSIS),
    _k("null", "text", "circular_shift | epoch_shuffle.", "circular_shift"),
    _k("n_surrogates", "integer", "Surrogates per segment (older spelling n_null).", 200),
    _k("alpha", "number", "Level of the corrected p-values.", 0.05),
    _k("correction", "text|boolean", _CORRECTION_DOC.format("maxstat | fdr"), "maxstat"),
    _k("tail", "text", "auto | greater | less | two-sided.", "auto"),
    _k("contrasts", "list", "Segment pairs [a, b] tested as a - b.",
       [["rest_post", "rest_pre"]]),
    _k("n_permutations", "integer", "Permutations of each contrast's per-epoch test.", 5000),
    _k("seed", "integer", "Random seed.", None),
) + _signal_keys(FROM_ANALYSIS), form="table or false", function="hyperinsync.insync.level2",
    receives=("bands", "rois", "epoch_duration") + _SIGNALS)

LEVEL3 = Section("insync.level3", "[insync] level3", "In-Sync Level 3: session trends of "
                 "every feature (hyperinsync.insync.level3; needs 3 sessions per dyad).", (
    _k("n_permutations", "integer", "Permutations of session order; default: [statistics] "
       "n_permutations.", "[statistics]"),
    _k("seed", "integer", "Random seed; default: [statistics] seed.", "[statistics]"),
), form="table or false", function="hyperinsync.insync.level3")

STATISTICS = Section("statistics", "[statistics]", "The group statistics (see 'Group "
                     "statistics' in hyperinsync.study.config); false skips them.", (
    _k("n_permutations", "integer", "Permutations of every group test.", 5000, True),
    _k("seed", "integer", "Random seed.", 0, True),
    _k("rois", "list", "Same-ROI pairs to test; default: all.", None, True),
    _k("feature", "text", "Per-dyad value: z | corrected | raw.", "z", True),
    _k("correction", "text|boolean", "Over the features: fdr | maxstat | false.", "fdr", True),
    _k("statistic", "text", "Permuted group statistic: welch | F.", "welch", True),
    _k("ci", "number", "Level of the confidence intervals.", 0.95, True),
    _k("contrast", "text|boolean", "Compare the dyads' groups ('group'); false: skip.",
       "group", True),
    _k("differences", "table", "Derived variables {name = [minuend, subtrahend]}.", {}, True),
    _k("correlate", "list", "Per-dyad variables correlated with synchrony.", [], True),
    _k("mixed", "boolean", "Group x segment x band x ROI mixed model.", True, True),
    _k("pseudo_dyads", "table|boolean", "Real vs pseudo-dyads options; false: skip.", {}, True),
), form="table or false")

# the keys every pseudo-dyad section shares
_PSEUDO_SESSION = _k("session", "integer", "The session index used; default: each dyad's "
                     "first.", None)
_KEEP_ROLES = _k("keep_roles", "boolean", "Pair first-role people with second-role people "
                 "only.", True)
PSEUDO_DYADS = Section("statistics.pseudo_dyads", "[statistics] pseudo_dyads", "Real dyads "
                       "against pseudo-dyads, per segment, on one session of every dyad "
                       "(hyperinsync.stats.pseudo_dyad_test).", (
    _PSEUDO_SESSION,
    _k("n_surrogates", "integer", "Pseudo-dyads drawn; default: all.", None),
    _KEEP_ROLES,
    _k("correction", "text|boolean", _CORRECTION_DOC.format("fdr | maxstat"), "fdr"),
    _k("tail", "text|table", "auto | greater | less | two-sided, or {measure = tail}.",
       "auto"),
    _k("signed", "boolean", "Keep the sign of ccorr and imcoh.", False),
    _k("seed", "integer", "Random seed; default: [statistics] seed.", "[statistics]"),
    _k("epoch_duration", "number", "Epoch length, s.", FROM_ANALYSIS),
) + _signal_keys(FROM_ANALYSIS, n_jobs=True), form="table or false",
    function="hyperinsync.stats.pseudo_dyad_test",
    receives=("bands", "rois", "epoch_duration") + _SIGNALS)

DYADS = Section("dyads", "[[dyads]]", "One table per dyad.", (
    _k("name", "text", "Dyad name (it names the dyad's part files).", None),
    _k("group", "text|integer", "Group label.", None),
    _k("variables", "table", "Per-dyad variables {name = number} (questionnaires).", None),
    _k("sessions", "list", "The dyad's sessions ([[dyads.sessions]]).", None),
), form="array of tables")

SESSIONS = Section("dyads.sessions", "[[dyads.sessions]]", "One table per session of a "
                   "dyad.", (
    _k("index", "integer", "Session index; default: its position.", None),
    _k("date", "date|text", "Session date (YYYY-MM-DD).", None),
    _k("files", "table", "{role = path}: one EEG file per person.", None),
    _k("file", "text", "One EEG file holding both people.", None),
    _k("reader", "table", "Reader options overriding [reader].", None),
    _k("variables", "table", "Per-session variables {name = number} (e.g. the session's "
       "alliance ratings).", None),
    _k("physio", "table", "The session's physiological files ([[dyads.sessions]] physio); "
       "default: [physio] reads the channels of the EEG recording.", None),
    _k("movement", "table", "The session's movement files, e.g. an MEA file; default: "
       "[movement] reads the channels of the EEG recording.", None),
    _k("annotations", "text", "An annotations file (mne.read_annotations: .csv, .txt, .fif) "
       "added to every recording of the session, e.g. segments coded from video; onsets in "
       "s from each recording's first sample, or absolute times.", None),
), form="array of tables")

COMPANION = Section("dyads.sessions.companion", "[[dyads.sessions]] physio / movement",
                    "A session's physiological or movement files, read with the options of "
                    "[physio] / [movement] (these keys override them); a session without "
                    "EEG (files / file) is analysed for these alone.", (
    _k("files", "table", "{role = path}: one file per person (CSV/TSV, Empatica, "
       "AcqKnowledge, FIF).", None),
    _k("file", "text", "One file holding both people (an MEA text file, a dyad FIF).", None),
    _k("format", "text", "auto | csv | empatica | acq | mea | fif.", "auto"),
    _k("offsets", "number|list", "Seconds of the file(s) at the first sample of the "
       "session's timeline: one number for one file, [first role, second role] for two; "
       "default: from the files' start times.", None),
    _k("reader_kwargs", "table", "Extra arguments of the reader (e.g. read_mea sfreq, the "
       "video's frame rate; read_raw_physio_csv time_column).", None),
))

def _lagged_keys(what, channels_doc):
    """Return the keys of [physio] and [movement]: reading, preprocessing, lagged_sync, group."""
    return (
        # where the series come from (hyperinsync.io readers) and at which rate
        _k("channels", "text|list", channels_doc, None),
        _k("ch_types", "table", "MNE types to set after reading, {channel = type}: gsr, ecg, "
           "bio, resp or misc (e.g. { GSR = \"gsr\" } for an amplifier's aux channel, so "
           "that clean_eda and eda_decompose find it).", None),
        _k("format", "text", "Reader of the sessions' files: auto (by extension: .fif, .acq; "
           "one file: mea, two: csv) | csv | empatica | acq | mea | fif.", "auto"),
        _k("sfreq", "number", "Rate of the common timeline, Hz: two files per person, or "
           "channels of the EEG recording, are resampled to it (anti-alias FIR, "
           "hyperinsync.io.align_physio); default: the recording's own rate (required for "
           "one file per person).", None),
        _k("offsets", "number|list", "Seconds of the file(s) at the first sample of the "
           "session's timeline (a session's own offsets override); default: from the start "
           "times.", None),
        _k("reader_kwargs", "table", "Extra arguments of the files' reader.", None),
        _k("preprocessing", "list", "Steps of hyperinsync.preprocessing, in order: names or "
           "{ step = name, option = value, ... }: clean_eda, eda_decompose, heart_rate, "
           "annotate_missing, annotate_flat, mea_artifacts, mea_smooth, mea_scale.", [], True),
        # hyperinsync.lagged_sync
        _k("pairs", "text|list|table", f"The {what} series correlated (after preprocessing): "
           "a channel name both people have, a list of them, or {modality = [channel of the "
           "first role, of the second]}; default: every physiological or movement channel "
           "both have.", None),
        _k("lag", "number", "Largest lag, s (required).", None),
        _k("window", "number", "Window length, s (required).", None),
        _k("step", "number", "Seconds between window starts; default: window.", None),
        _k("definition", "text", "wcc | rmea | susy.", "wcc"),
        _k("absolute", "boolean", "Report absolute values (rMEA's ABS).", True),
        _k("fisher_z", "boolean", "Fisher z instead of r.", True),
        _k("max_missing", "number", "Largest fraction of missing samples of a window.", 0.5),
        _k("null", "text|boolean", "auto | circular_shift | segment_shuffle; false: no "
           "surrogates.", "auto"),
        _k("n_surrogates", "integer", "Surrogates (and lead-test sign flips).", 1000),
        _k("min_shift", "number", "Smallest circular shift, s; default: a window's span.",
           None),
        _k("segments", "text|list", "Annotation descriptions summarised separately (e.g. "
           "['IM', 'CB']).", None),
        _k("alpha", "number", "Level of the tests and of the Level 1 episodes.", 0.05),
        _k("ci", "number", "Level of the lead and peak-lag intervals.", 0.95),
        _k("n_boot", "integer", "Bootstrap resamples of the intervals.", 2000),
        _k("lead_block", "number", "Seconds of the lead test's blocks; default: twice a "
           "window's span.", None),
        _k("seed", "integer", "Random seed.", None),
        _k("backend", "text", "Array backend: auto | numpy | cupy.", "auto"),
        # the group step (skipped with [statistics] = false)
        _k("value", "text", "The per-session value of the group step: sync_corrected "
           "(synchrony minus its surrogates' mean) | sync_effect_size | sync.",
           "sync_corrected", True),
        _k("icc", "boolean", "Dyad vs session variance of that value per modality "
           "(hyperinsync.stats.icc).", True, True),
        _k("outcomes", "list", "Session variables predicted from each segment's synchrony, "
           "random intercept per dyad (hyperinsync.stats.predict_outcome).", [], True),
        _k("center", "text|boolean", "within: each predictor split into the dyad's mean and "
           "the session's deviation; false: as it is.", "within", True),
        _k("pseudo_dyads", "table|boolean", "Real vs pseudo-dyads "
           "(hyperinsync.lagged_pseudo_dyads) on one session of every dyad; false: skip.",
           False, True),
    )


# the study-file sections of lagged synchrony, by name
LAGGED = ("physio", "movement")
PHYSIO = Section("physio", "[physio]", "Lagged synchrony of physiological signals (EDA, "
                 "heart) of every recording (hyperinsync.lagged_sync), its In-Sync "
                 "annotations and group step; absent: not computed.", _lagged_keys(
                     "physiological", "Channels (without roles) read from the EEG recording "
                     "or the files; default: every gsr, ecg, bio, resp and misc channel."),
                 function="hyperinsync.lagged_sync")
MOVEMENT = Section("movement", "[movement]", "Lagged synchrony of movement (motion energy "
                   "from video, MEA) of every recording, as [physio].", _lagged_keys(
                       "movement", "Channels (without roles) read from the EEG recording or "
                       "the files; default: every channel of a physiological type."),
                   function="hyperinsync.lagged_sync")
LAGGED_PSEUDO = Section("lagged.pseudo_dyads", "[physio] / [movement] pseudo_dyads", "Real "
                        "dyads against pseudo-dyads (hyperinsync.lagged_pseudo_dyads), on one "
                        "session of every dyad.", (
    _PSEUDO_SESSION,
    _KEEP_ROLES,
    _k("n_pseudo", "integer", "Pseudo-dyads drawn; default: all.", None),
    _k("n_permutations", "integer", "Permutations of the real vs pseudo test; default: "
       "[statistics] n_permutations.", "[statistics]"),
    _k("seed", "integer", "Random seed; default: [statistics] seed.", "[statistics]"),
), function="hyperinsync.lagged_pseudo_dyads")


SIMULATE = Section("simulate", "[simulate]", "A simulated study instead of [[dyads]] "
                   "(hyperinsync.simulate_study).", (
    _k("n_dyads", "integer", "Number of dyads.", 14),
    _k("groups", "table", "{group = coupling strength}.", None),
    _k("n_sessions", "integer", "Sessions per dyad.", 1),
    _k("segments", "list", "[[description, seconds], ...] of each recording.",
       [["rest_pre", 300.0], ["session", 1200.0], ["rest_post", 300.0]]),
    _k("sfreq", "number", "Sampling rate, Hz.", 500.0),
    _k("montage", "text", "Montage of both people.", "tmsi-mobita-32"),
    _k("session_interval_days", "integer", "Days between sessions.", 7),
    _k("trend_per_session", "number", "Change of coupling per session (Level 3).", 0.0),
    _k("rest_post_gain", "number", "rest_post minus rest_pre coupling (Level 2).", 0.0),
    _k("seed", "integer", "Random seed.", None),
    _k("start_date", "text|date", "Date of the first session.", "2024-01-08"),
), function="hyperinsync.simulate_study")

SIMULATE_PHYSIO = Section("simulate_physio", "[simulate_physio]", "A simulated "
                          "physiological study instead of [[dyads]] "
                          "(hyperinsync.simulate_physio_study): no EEG; [physio] and "
                          "[movement] read the channels EDA, HR and MEA of its recordings.", (
    _k("n_dyads", "integer", "Number of dyads.", 31),
    _k("n_sessions", "integer", "Sessions per dyad.", 5),
    _k("segments", "list", "[[description, seconds], ...] of each session.",
       [["IM", 600.0], ["CB", 600.0]]),
    _k("modalities", "list", "Simulated modalities: eda, heart, movement.", ["eda"]),
    _k("sfreq", "number", "Sampling rate, Hz.", 8.0),
    _k("mean_strength", "table", "{segment = mean coupling strength}.", None),
    _k("dyad_sd", "number", "SD of the dyads' deviations of the strength.", 0.12),
    _k("session_sd", "number", "SD of the sessions' deviations of the strength.", 0.08),
    _k("lag", "number", "Lag of every coupling, s (positive: the first role leads).", 1.0),
    _k("phase", "text", "in | anti.", "in"),
    _k("outcomes", "table", "{outcome = {intercept, <segment> = coefficient, dyad_sd, sd}} "
       "(session variables); default: bond, task, goal.", None),
    _k("seed", "integer", "Random seed.", None),
    _k("start_date", "text", "Date of the first session.", "2024-01-08"),
), function="hyperinsync.simulate_physio_study")

TOP = Section("", "the study file (top level)", "The study file.", (
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
    _k("schema_version", "integer", "The schema version the file is written for; default: "
       "the current one.", SCHEMA_VERSION),
))

# every section, by dotted name
SECTIONS = {s.name: s for s in (TOP, STUDY, READER, ANALYSIS, SURROGATES, INSYNC, LEVEL1,
                                LEVEL2, LEVEL3, STATISTICS, PSEUDO_DYADS, DYADS, SESSIONS,
                                COMPANION, SIMULATE, PHYSIO, MOVEMENT, LAGGED_PSEUDO,
                                SIMULATE_PHYSIO)}

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
    return dict(schema_version=SCHEMA_VERSION, sections={
        s.name or "(top level)": {k.name: dict(types=list(k.types), default=_plain(k.default),
                                                filled=k.filled) for k in s.keys}
        for s in SECTIONS.values()})
