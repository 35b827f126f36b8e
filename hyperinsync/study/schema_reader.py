"""The study file's ``[reader]`` section: the reader options, and which apply to which recording.

Part of :mod:`hyperinsync.study.schema`, where every section is listed.
"""

from __future__ import annotations

from .schema_keys import Section, _k

_READER_KEYS = (
    _k("format", "text", "auto | poly5 | xdf | fif | split | mne.", "auto"),
    _k(
        "rename_annotations",
        "table",
        "Annotation descriptions renamed as read, {old = new} "
        "(e.g. BrainVision's {'Comment/rest' = 'rest'}: segment names cannot hold '/').",
        None,
    ),
    # two files (hyperinsync.io.read_dyad_files)
    _k(
        "sync",
        "text",
        "Two files: align on sync pulses (events), LSL clocks (lsl), start times (start) or auto.",
        "auto",
    ),
    _k(
        "stim_channel",
        "text|list",
        "Two files: the channel with the sync pulses (one, or one per file).",
        None,
    ),
    _k("event_id", "integer|list", "Two files: pulse codes to use; default: every event.", None),
    _k(
        "annotation",
        "text|list",
        "Two files: annotations used as pulses instead of a stim channel.",
        None,
    ),
    _k("tolerance_ms", "number", "Two files: largest pulse timing error accepted, ms.", 2.0),
    _k("pulse_pairing", "text", "Two files: intervals | order.", "intervals"),
    _k(
        "montage",
        "text|list",
        "Electrode positions: a montage name or file (or one per person).",
        None,
    ),
    _k("reader_kwargs", "table|list", "Extra arguments of each file's reader.", None),
    # one XDF file (hyperinsync.io.read_dyad_xdf)
    _k("streams", "list", "XDF: the two EEG streams, in role order.", None),
    _k(
        "select_by",
        "text",
        "XDF: the stream field streams names: name | type | source_id | hostname.",
        "name",
    ),
    _k("sfreq", "number", "XDF: sampling rate of the common grid, Hz.", None),
    _k("markers", "boolean|list", "XDF: marker streams that become annotations.", True),
    _k(
        "gap_threshold",
        "number",
        "XDF: a longer jump between time stamps splits a stream, s.",
        None,
    ),
    # one file, two caps (hyperinsync.io.split_dyad)
    _k("pattern", "text", "Split: regular expression with groups name and role.", None),
    _k("mapping", "table", "Split: {role = [channels]} instead of pattern.", None),
    _k("role_map", "table", "Split: {role text in the channel name = role}.", None),
    _k("shared", "list|text", "Split: channels copied to both people (or to shared_to).", None),
    _k("shared_to", "text", "Split: both, or the role that gets the shared channels.", "both"),
)
READER = Section(
    "reader",
    "[reader]",
    "Reader options of every recording; a session's reader table overrides them.",
    _READER_KEYS,
    function="hyperinsync.io.read_dyad_files / read_dyad_xdf / split_dyad",
)
# which reader options apply to which kind of recording
READER_BY_MODE = {
    "files": (
        "sync",
        "stim_channel",
        "event_id",
        "annotation",
        "tolerance_ms",
        "pulse_pairing",
        "montage",
        "reader_kwargs",
    ),
    "xdf": ("streams", "select_by", "sfreq", "markers", "gap_threshold", "montage"),
    "split": ("pattern", "mapping", "role_map", "shared", "shared_to", "montage", "reader_kwargs"),
    "fif": (),
}
# reader keys the study applies itself to every recording, after its reader
READER_APPLIED = ("rename_annotations",)
FORMATS = ("auto", "poly5", "xdf", "fif", "split", "mne")
