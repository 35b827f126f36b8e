"""The study file's simulated studies: ``[simulate]`` (EEG) and ``[simulate_physio]``.

Part of :mod:`hyperinsync.study.schema`, where every section is listed.
"""

from __future__ import annotations

from .schema_keys import Section, _k

SIMULATE = Section(
    "simulate",
    "[simulate]",
    "A simulated study instead of [[dyads]] (hyperinsync.simulate_study).",
    (
        _k("n_dyads", "integer", "Number of dyads.", 14),
        _k("groups", "table", "{group = coupling strength}.", None),
        _k("n_sessions", "integer", "Sessions per dyad.", 1),
        _k(
            "segments",
            "list",
            "[[description, seconds], ...] of each recording.",
            [["rest_pre", 300.0], ["session", 1200.0], ["rest_post", 300.0]],
        ),
        _k("sfreq", "number", "Sampling rate, Hz.", 500.0),
        _k("montage", "text", "Montage of both people.", "tmsi-mobita-32"),
        _k("session_interval_days", "integer", "Days between sessions.", 7),
        _k("trend_per_session", "number", "Change of coupling per session (Level 3).", 0.0),
        _k("rest_post_gain", "number", "rest_post minus rest_pre coupling (Level 2).", 0.0),
        _k("seed", "integer", "Random seed.", None),
        _k("start_date", "text|date", "Date of the first session.", "2024-01-08"),
    ),
    function="hyperinsync.simulate_study",
)

SIMULATE_PHYSIO = Section(
    "simulate_physio",
    "[simulate_physio]",
    "A simulated "
    "physiological study instead of [[dyads]] "
    "(hyperinsync.simulate_physio_study): no EEG; [physio] and "
    "[movement] read the channels EDA, HR and MEA of its recordings.",
    (
        _k("n_dyads", "integer", "Number of dyads.", 31),
        _k("n_sessions", "integer", "Sessions per dyad.", 5),
        _k(
            "segments",
            "list",
            "[[description, seconds], ...] of each session.",
            [["IM", 600.0], ["CB", 600.0]],
        ),
        _k("modalities", "list", "Simulated modalities: eda, heart, movement.", ["eda"]),
        _k("sfreq", "number", "Sampling rate, Hz.", 8.0),
        _k("mean_strength", "table", "{segment = mean coupling strength}.", None),
        _k("dyad_sd", "number", "SD of the dyads' deviations of the strength.", 0.12),
        _k("session_sd", "number", "SD of the sessions' deviations of the strength.", 0.08),
        _k("lag", "number", "Lag of every coupling, s (positive: the first role leads).", 1.0),
        _k("phase", "text", "in | anti.", "in"),
        _k(
            "outcomes",
            "table",
            "{outcome = {intercept, <segment> = coefficient, dyad_sd, sd}} "
            "(session variables); default: bond, task, goal.",
            None,
        ),
        _k("seed", "integer", "Random seed.", None),
        _k("start_date", "text", "Date of the first session.", "2024-01-08"),
    ),
    function="hyperinsync.simulate_physio_study",
)
