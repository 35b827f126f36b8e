"""Write small, valid XDF 1.0 files for tests (the chunk layout pyxdf.load_xdf parses).

File: ``b"XDF:"`` then chunks ``[NumLengthBytes][Length][Tag uint16][Content]`` where Length
counts tag + content. Tags: 1 FileHeader (XML), 2 StreamHeader (StreamId uint32 + XML),
3 Samples (StreamId + [NumSampleBytes][NumSamples] + per sample ``[8][float64 stamp]`` and
the little-endian values, or per string ``[NumLengthBytes][Length][bytes]``), 4 ClockOffset
(StreamId + collection time float64 + offset float64), 6 StreamFooter (StreamId + XML).
"""

import struct
from xml.sax.saxutils import escape

import numpy as np

_FMT = {"float32": "<f4", "double64": "<f8", "int16": "<i2", "int32": "<i4"}


def _varlen(n):
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def _chunk(tag, content, stream_id=None):
    body = struct.pack("<H", tag)
    if stream_id is not None:
        body += struct.pack("<I", stream_id)
    body += content
    return _varlen(len(body)) + body


def stream_header_xml(
    name,
    type_,
    n_channels,
    srate,
    fmt,
    source_id="",
    hostname="",
    labels=None,
    unit="microvolts",
    ch_types=None,
    uid="",
):
    chans = ""
    if labels is not None:
        ch_types = ch_types or [type_] * len(labels)
        chans = (
            "<channels>"
            + "".join(
                f"<channel><label>{escape(lab)}</label><unit>{unit}</unit><type>{typ}</type>"
                "</channel>"
                for lab, typ in zip(labels, ch_types)
            )
            + "</channels>"
        )
    return (
        '<?xml version="1.0"?><info>'
        f"<name>{escape(name)}</name><type>{escape(type_)}</type>"
        f"<channel_count>{n_channels}</channel_count><nominal_srate>{srate}</nominal_srate>"
        f"<channel_format>{fmt}</channel_format><source_id>{escape(source_id)}</source_id>"
        f"<hostname>{escape(hostname)}</hostname><created_at>0</created_at>"
        + (f"<uid>{escape(uid)}</uid>" if uid else "")
        + f"<desc>{chans}</desc></info>"
    )


def write_xdf(fname, streams, chunk_size=64):
    """Write streams to ``fname``.

    Parameters
    ----------
    streams : list of dict
        Keys: ``name``, ``type``, ``srate`` (0 for markers), ``fmt`` ('float32', 'double64',
        'string'), ``data`` (n_samples x n_channels array, or a list of strings for a marker
        stream), ``stamps`` (recorder-local time stamps of the stream's clock, seconds),
        optional ``source_id``, ``hostname``, ``labels``, ``unit``, ``ch_types`` (one
        channel type per label; default the stream type), ``uid`` (the LSL outlet's uid,
        the same in every file that recorded it), and ``clock_offsets``, a list of
        ``(collection_time, offset)`` (collection time in the stream's clock; offset:
        recording clock minus stream clock).
    chunk_size : int
        Samples per Samples chunk; chunks of all streams are interleaved by time.
    """
    out = [b"XDF:", _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    for sid, st in enumerate(streams, start=1):
        data = st["data"]
        n_ch = 1 if st["fmt"] == "string" else np.asarray(data).shape[1]
        out.append(
            _chunk(
                2,
                stream_header_xml(
                    st["name"],
                    st["type"],
                    n_ch,
                    st["srate"],
                    st["fmt"],
                    st.get("source_id", ""),
                    st.get("hostname", ""),
                    st.get("labels"),
                    st.get("unit", "microvolts"),
                    st.get("ch_types"),
                    st.get("uid", ""),
                ).encode(),
                sid,
            )
        )
    # interleave Samples and ClockOffset chunks by time, like LabRecorder
    pieces = []
    for sid, st in enumerate(streams, start=1):
        stamps = np.asarray(st["stamps"], float)
        for i0 in range(0, len(stamps), chunk_size):
            pieces.append((stamps[i0], 0, sid, i0))
        for t, off in st.get("clock_offsets", []):
            pieces.append((t, 1, sid, (t, off)))
    pieces.sort(key=lambda p: (p[0], p[1], p[2]))
    for _, kind, sid, arg in pieces:
        st = streams[sid - 1]
        if kind == 1:
            out.append(_chunk(4, struct.pack("<dd", *arg), sid))
            continue
        i0 = arg
        stamps = np.asarray(st["stamps"], float)[i0 : i0 + chunk_size]
        content = _varlen(len(stamps))
        if st["fmt"] == "string":
            for t, text in zip(stamps, st["data"][i0 : i0 + chunk_size]):
                raw = text.encode()
                content += b"\x08" + struct.pack("<d", t) + _varlen(len(raw)) + raw
        else:
            values = np.asarray(st["data"])[i0 : i0 + chunk_size].astype(_FMT[st["fmt"]])
            for t, row in zip(stamps, values):
                content += b"\x08" + struct.pack("<d", t) + row.tobytes()
        out.append(_chunk(3, content, sid))
    for sid, st in enumerate(streams, start=1):
        stamps = np.asarray(st["stamps"], float)
        offs = "".join(
            f"<offset><time>{t}</time><value>{v}</value></offset>"
            for t, v in st.get("clock_offsets", [])
        )
        xml = (
            '<?xml version="1.0"?><info>'
            f"<first_timestamp>{stamps[0] if len(stamps) else 0}</first_timestamp>"
            f"<last_timestamp>{stamps[-1] if len(stamps) else 0}</last_timestamp>"
            f"<sample_count>{len(stamps)}</sample_count>"
            f"<clock_offsets>{offs}</clock_offsets></info>"
        )
        out.append(_chunk(6, xml.encode(), sid))
    with open(fname, "wb") as fid:
        fid.write(b"".join(out))
    return fname
