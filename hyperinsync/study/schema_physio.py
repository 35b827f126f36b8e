"""The study file's sections of lagged synchrony: ``[physio]``, ``[movement]``, their pseudo-dyads.

With a session's physiological or movement files (``[[dyads.sessions]] physio / movement``).
Part of :mod:`hyperinsync.study.schema`, where every section is listed.
"""

from __future__ import annotations

from .schema_keys import _KEEP_ROLES, _PSEUDO_SESSION, Section, _k

COMPANION = Section(
    "dyads.sessions.companion",
    "[[dyads.sessions]] physio / movement",
    "A session's physiological or movement files, read with the options of "
    "[physio] / [movement] (these keys override them); a session without "
    "EEG (files / file) is analysed for these alone.",
    (
        _k(
            "files",
            "table",
            "{role = path}: one file per person (CSV/TSV, Empatica, AcqKnowledge, FIF).",
            None,
        ),
        _k("file", "text", "One file holding both people (an MEA text file, a dyad FIF).", None),
        _k("format", "text", "auto | csv | empatica | acq | mea | fif.", "auto"),
        _k(
            "offsets",
            "number|list",
            "Seconds of the file(s) at the first sample of the "
            "session's timeline: one number for one file, [first role, second role] for two; "
            "default: from the files' start times.",
            None,
        ),
        _k(
            "reader_kwargs",
            "table",
            "Extra arguments of the reader (e.g. read_mea sfreq, the "
            "video's frame rate; read_raw_physio_csv time_column).",
            None,
        ),
    ),
)


def _lagged_keys(what, channels_doc):
    """Return the keys of [physio] and [movement]: reading, preprocessing, lagged_sync, group."""
    return (
        # where the series come from (hyperinsync.io readers) and at which rate
        _k("channels", "text|list", channels_doc, None),
        _k(
            "ch_types",
            "table",
            "MNE types to set after reading, {channel = type}: gsr, ecg, "
            'bio, resp or misc (e.g. { GSR = "gsr" } for an amplifier\'s aux channel, so '
            "that clean_eda and eda_decompose find it).",
            None,
        ),
        _k(
            "format",
            "text",
            "Reader of the sessions' files: auto (by extension: .fif, .acq; "
            "one file: mea, two: csv) | csv | empatica | acq | mea | fif.",
            "auto",
        ),
        _k(
            "sfreq",
            "number",
            "Rate of the common timeline, Hz: two files per person, or "
            "channels of the EEG recording, are resampled to it (anti-alias FIR, "
            "hyperinsync.io.align_physio); default: the recording's own rate (required for "
            "one file per person).",
            None,
        ),
        _k(
            "offsets",
            "number|list",
            "Seconds of the file(s) at the first sample of the "
            "session's timeline (a session's own offsets override); default: from the start "
            "times.",
            None,
        ),
        _k("reader_kwargs", "table", "Extra arguments of the files' reader.", None),
        _k(
            "preprocessing",
            "list",
            "Steps of hyperinsync.preprocessing, in order: names or "
            "{ step = name, option = value, ... }: clean_eda, eda_decompose, heart_rate, "
            "annotate_missing, annotate_flat, mea_artifacts, mea_smooth, mea_scale.",
            [],
            True,
        ),
        # hyperinsync.lagged_sync
        _k(
            "pairs",
            "text|list|table",
            f"The {what} series correlated (after preprocessing): "
            "a channel name both people have, a list of them, or {modality = [channel of the "
            "first role, of the second]}; default: every physiological or movement channel "
            "both have.",
            None,
        ),
        _k("lag", "number", "Largest lag, s (required).", None),
        _k("window", "number", "Window length, s (required).", None),
        _k("step", "number", "Seconds between window starts; default: window.", None),
        _k("definition", "text", "wcc | rmea | susy.", "wcc"),
        _k("absolute", "boolean", "Report absolute values (rMEA's ABS).", True),
        _k("fisher_z", "boolean", "Fisher z instead of r.", True),
        _k("max_missing", "number", "Largest fraction of missing samples of a window.", 0.5),
        _k(
            "null",
            "text|boolean",
            "auto | circular_shift | segment_shuffle; false: no surrogates.",
            "auto",
        ),
        _k("n_surrogates", "integer", "Surrogates (and lead-test sign flips).", 1000),
        _k("min_shift", "number", "Smallest circular shift, s; default: a window's span.", None),
        _k(
            "segments",
            "text|list",
            "Annotation descriptions summarised separately (e.g. ['IM', 'CB']).",
            None,
        ),
        _k("alpha", "number", "Level of the tests and of the Level 1 episodes.", 0.05),
        _k("ci", "number", "Level of the lead and peak-lag intervals.", 0.95),
        _k("n_boot", "integer", "Bootstrap resamples of the intervals.", 2000),
        _k(
            "lead_block",
            "number",
            "Seconds of the lead test's blocks; default: twice a window's span.",
            None,
        ),
        _k("seed", "integer", "Random seed.", None),
        _k("backend", "text", "Array backend: auto | numpy | cupy.", "auto"),
        # the group step (skipped with [statistics] = false)
        _k(
            "value",
            "text",
            "The per-session value of the group step: sync_corrected "
            "(synchrony minus its surrogates' mean) | sync_effect_size | sync.",
            "sync_corrected",
            True,
        ),
        _k(
            "icc",
            "boolean",
            "Dyad vs session variance of that value per modality (hyperinsync.stats.icc).",
            True,
            True,
        ),
        _k(
            "outcomes",
            "list",
            "Session variables predicted from each segment's synchrony, "
            "random intercept per dyad (hyperinsync.stats.predict_outcome).",
            [],
            True,
        ),
        _k(
            "center",
            "text|boolean",
            "within: each predictor split into the dyad's mean and "
            "the session's deviation; false: as it is.",
            "within",
            True,
        ),
        _k(
            "pseudo_dyads",
            "table|boolean",
            "Real vs pseudo-dyads "
            "(hyperinsync.lagged_pseudo_dyads) on one session of every dyad; false: skip.",
            False,
            True,
        ),
    )


# the study-file sections of lagged synchrony, by name
LAGGED = ("physio", "movement")
PHYSIO = Section(
    "physio",
    "[physio]",
    "Lagged synchrony of physiological signals (EDA, "
    "heart) of every recording (hyperinsync.lagged_sync), its In-Sync "
    "annotations and group step; absent: not computed.",
    _lagged_keys(
        "physiological",
        "Channels (without roles) read from the EEG recording "
        "or the files; default: every gsr, ecg, bio, resp and misc channel.",
    ),
    function="hyperinsync.lagged_sync",
)
MOVEMENT = Section(
    "movement",
    "[movement]",
    "Lagged synchrony of movement (motion energy from video, MEA) of every recording, as [physio].",
    _lagged_keys(
        "movement",
        "Channels (without roles) read from the EEG recording or "
        "the files; default: every channel of a physiological type.",
    ),
    function="hyperinsync.lagged_sync",
)
LAGGED_PSEUDO = Section(
    "lagged.pseudo_dyads",
    "[physio] / [movement] pseudo_dyads",
    "Real "
    "dyads against pseudo-dyads (hyperinsync.lagged_pseudo_dyads), on one "
    "session of every dyad.",
    (
        _PSEUDO_SESSION,
        _KEEP_ROLES,
        _k("n_pseudo", "integer", "Pseudo-dyads drawn; default: all.", None),
        _k(
            "n_permutations",
            "integer",
            "Permutations of the real vs pseudo test; default: [statistics] n_permutations.",
            "[statistics]",
        ),
        _k("seed", "integer", "Random seed; default: [statistics] seed.", "[statistics]"),
    ),
    function="hyperinsync.lagged_pseudo_dyads",
)
