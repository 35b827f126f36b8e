"""XDF files' structure and streams: checked, described, selected.

Used by :mod:`~hyperinsync.io.xdf`.
"""

from __future__ import annotations

import gzip
from xml.etree.ElementTree import ParseError, fromstring

import numpy as np

from .._utils import _validate_type, logger
from .errors import XDFError

_SELECT_BY = ("name", "type", "source_id", "hostname")


_SAMPLE_BYTES = {"double64": 8, "float32": 4, "int64": 8, "int32": 4, "int16": 2, "int8": 1}


_UNIT_SCALE = {
    "v": 1.0, "volt": 1.0, "volts": 1.0,
    "mv": 1e-3, "millivolt": 1e-3, "millivolts": 1e-3,
    "uv": 1e-6, "microvolt": 1e-6, "microvolts": 1e-6,
    "nv": 1e-9, "nanovolt": 1e-9, "nanovolts": 1e-9,
}  # fmt: skip


_CH_TYPES = {
    "eeg": "eeg",
    "eog": "eog",
    "ecg": "ecg",
    "emg": "emg",
    "stim": "stim",
    "trigger": "stim",
    "misc": "misc",
    "resp": "resp",
    "gsr": "gsr",
}


# --------------------------------------------------------------------------------------
# structural check
# --------------------------------------------------------------------------------------
def _open(fname):
    if fname.suffix == ".xdfz" or fname.suffixes[-2:] == [".xdf", ".gz"]:
        return gzip.open(fname, "rb")
    return open(fname, "rb")


def _check_structure(fname):
    """Walk every chunk of an XDF file; raise XDFError at the first inconsistency."""

    def fail(pos, what):
        raise XDFError(
            f"XDF file {fname} is truncated or corrupt at byte {pos}: {what}. The file "
            "cannot be read reliably; re-export it or cut it at the last complete chunk."
        )

    with _open(fname) as fid:
        try:
            buf = fid.read()
        except (OSError, EOFError) as err:
            raise XDFError(f"XDF file {fname} cannot be read: {err}") from err
    if len(buf) == 0:
        raise XDFError(f"XDF file {fname} is empty.")
    if buf[:4] != b"XDF:":
        raise XDFError(f"{fname} is not an XDF file (it does not start with 'XDF:').")
    mv = memoryview(buf)
    n, pos, formats, first = len(buf), 4, {}, True

    def varlen(p):
        if p >= n:
            fail(p, "a chunk ends early")
        k = buf[p]
        if k not in (1, 4, 8) or p + 1 + k > n:
            fail(p, f"invalid variable-length integer (width byte {k})")
        return int.from_bytes(mv[p + 1 : p + 1 + k], "little"), p + 1 + k

    while pos < n:
        start = pos
        length, pos = varlen(pos)
        end = pos + length
        if length < 2 or end > n:
            fail(start, f"chunk length {length} runs past the end of the file ({n} bytes)")
        tag = int.from_bytes(mv[pos : pos + 2], "little")
        if tag not in (1, 2, 3, 4, 5, 6) or (first and tag != 1):
            fail(start, f"unexpected chunk tag {tag}")
        first = False
        body = pos + 2
        if tag in (2, 3, 4, 6):
            if length < 6:
                fail(start, f"chunk of tag {tag} too short")
            sid = int.from_bytes(mv[body : body + 4], "little")
            body += 4
        if tag in (1, 2, 6):
            try:
                xml = fromstring(bytes(mv[body:end]).decode("utf-8"))
            except (ParseError, UnicodeDecodeError) as err:
                fail(start, f"unreadable XML in chunk of tag {tag} ({err})")
            if tag == 2:
                try:
                    n_ch = int(xml.findtext("channel_count"))
                    srate = float(xml.findtext("nominal_srate"))
                    fmt = xml.findtext("channel_format")
                except (TypeError, ValueError):
                    fail(start, "stream header lacks a valid channel_count/nominal_srate")
                if (
                    n_ch < 1
                    or not np.isfinite(srate)
                    or srate < 0
                    or (fmt not in _SAMPLE_BYTES and fmt != "string")
                ):
                    fail(
                        start,
                        f"invalid stream header (channels {n_ch}, rate {srate}, format {fmt!r})",
                    )
                if sid in formats:
                    fail(start, f"stream {sid} declared twice")
                formats[sid] = (fmt, n_ch)
        elif tag == 4 and length != 22:
            fail(start, f"clock offset chunk of length {length} (must be 22)")
        elif tag == 3:
            if sid not in formats:
                fail(start, f"samples of stream {sid} before its header")
            fmt, n_ch = formats[sid]
            n_samp, p = varlen(body)
            if n_samp > end - p:
                fail(start, f"chunk claims {n_samp} samples in {end - p} bytes")
            size = None if fmt == "string" else n_ch * _SAMPLE_BYTES[fmt]
            for _ in range(n_samp):
                if p >= end or buf[p] not in (0, 8):
                    fail(p, "invalid time stamp marker in a samples chunk")
                p += 1 + buf[p]
                if size is not None:
                    p += size
                else:
                    for _ in range(n_ch):
                        nb, p = varlen(p)
                        p += nb
                if p > end:
                    fail(start, "samples run past the end of their chunk")
            if p != end:
                fail(start, f"samples chunk has {end - p} stray bytes")
        pos = end
    if not formats:
        raise XDFError(f"XDF file {fname} holds no streams.")


# --------------------------------------------------------------------------------------
# stream selection and conversion
# --------------------------------------------------------------------------------------
def _field(stream, key):
    val = stream["info"].get(key)
    if isinstance(val, list):
        val = val[0] if val else None
    return "" if val is None else str(val)


def _describe(streams):
    return "; ".join(
        f"name={_field(s, 'name')!r} type={_field(s, 'type')!r} "
        f"source_id={_field(s, 'source_id')!r} hostname={_field(s, 'hostname')!r}"
        for s in streams
    )


def _find_stream(streams, wanted, select_by, fname):
    """Return the one stream whose field ``select_by`` is ``wanted``; errors list the streams."""
    hits = [s for s in streams if _field(s, select_by) == str(wanted)]
    if not hits:
        raise XDFError(
            f"XDF file {fname}: no stream with {select_by}={wanted!r}. Available streams: "
            f"{_describe(streams)}."
        )
    if len(hits) > 1:
        raise XDFError(
            f"XDF file {fname}: {len(hits)} streams have {select_by}={wanted!r}; select by "
            f"another field (name, type, source_id, hostname). Streams: {_describe(hits)}."
        )
    return hits[0]


def _eeg_streams(streams, n, fname, how):
    eeg = [s for s in streams if _field(s, "type").lower() == "eeg"]
    if len(eeg) != n:
        what = "two streams" if n == 2 else "one stream"
        raise XDFError(
            f"XDF file {fname}: {how}=None needs exactly {what} of type EEG, found "
            f"{len(eeg)}. Available streams: {_describe(streams)}. "
            f"Choose with {how}= and select_by=."
        )
    return eeg


def _select(streams, wanted, select_by, fname):
    if wanted is None:
        eeg = _eeg_streams(streams, 2, fname, "streams")
        logger.info(
            f"Using the two EEG streams in file order: {_field(eeg[0], 'name')!r}, "
            f"{_field(eeg[1], 'name')!r}."
        )
        return eeg
    _validate_type(wanted, (tuple, list), "streams")
    if len(wanted) != 2:
        raise ValueError(f"streams must name two streams, got {wanted!r}.")
    out = [_find_stream(streams, w, select_by, fname) for w in wanted]
    if out[0] is out[1]:
        raise XDFError(f"XDF file {fname}: both roles select the same stream {wanted[0]!r}.")
    return out


def _channels(stream):
    """Channel names, types and scale factors to SI from the stream's desc."""
    n_ch = int(_field(stream, "channel_count"))
    stype = _field(stream, "type").lower()
    names, types, units = [], [], []
    try:
        chans = stream["info"]["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        chans = []
    if len(chans) == n_ch:
        for ii, ch in enumerate(chans):
            ch = ch if isinstance(ch, dict) else {}
            get = lambda key: (ch.get(key) or [""])[0] or ""  # noqa: E731
            names.append(str(get("label")).strip() or f"ch{ii}")
            types.append(_CH_TYPES.get(str(get("type")).strip().lower(), None))
            units.append(str(get("unit")).strip())
    else:
        names = [f"ch{ii}" for ii in range(n_ch)]
        types, units = [None] * n_ch, [""] * n_ch
    if len(set(names)) != n_ch:  # duplicate labels: keep them apart
        names = [f"{nm}-{ii}" if names.count(nm) > 1 else nm for ii, nm in enumerate(names)]
    default = "eeg" if stype == "eeg" else "misc"
    types = [t or default for t in types]
    scales = []
    for unit, typ in zip(units, types):
        key = unit.replace("\u00b5", "u").replace("\u03bc", "u").lower()
        if typ != "stim" and key in _UNIT_SCALE:
            scales.append(_UNIT_SCALE[key])
        else:
            # LSL EEG amplifiers send microvolts; without a unit we cannot know: keep values.
            # Trigger codes are kept as sent, whatever unit the stream gives them.
            scales.append(1.0)
    return names, types, np.array(scales), units


def _check_stream(stream, fname):
    name = _field(stream, "name")
    ts = np.asarray(stream["time_stamps"], float)
    data = stream["time_series"]
    if _field(stream, "channel_format") == "string":
        raise XDFError(f"XDF file {fname}: stream {name!r} holds strings, not EEG samples.")
    if len(ts) < 2:
        raise XDFError(f"XDF file {fname}: stream {name!r} holds {len(ts)} sample(s).")
    if not np.all(np.isfinite(ts)) or np.any(np.diff(ts) <= 0):
        raise XDFError(
            f"XDF file {fname}: stream {name!r} has non-finite or non-increasing time stamps "
            "(corrupt file or clock offsets)."
        )
    data = np.asarray(data, float)
    bad = ~np.isfinite(data)
    if bad.any():
        i, c = np.argwhere(bad)[0]
        raise XDFError(
            f"XDF file {fname}: stream {name!r} channel {int(c)} holds NaN/inf at time stamp "
            f"{ts[i]:.3f} s. hyperinsync does not fill missing data silently."
        )
    rate = float(stream["info"].get("effective_srate") or 0.0)
    if not (np.isfinite(rate) and rate > 0):
        raise XDFError(
            f"XDF file {fname}: stream {name!r} has no valid effective sampling "
            "rate (corrupt time stamps)."
        )
    return ts, data, rate
