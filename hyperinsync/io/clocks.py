"""Two XDF recordings on one timeline by their Lab Streaming Layer clocks (a shared stream)."""

from __future__ import annotations

from .._utils import logger


def _xdf_meta(raw):
    """Return the LSL facts :func:`hyperinsync.io.read_raw_xdf` stored, or None."""
    from ..dyad import get_dyad_meta

    try:
        meta = get_dyad_meta(raw).get("xdf")
    except ValueError:  # a description we cannot parse holds no LSL facts
        return None
    return meta if isinstance(meta, dict) and "lsl_time0" in meta else None


def _shared_clock(xdf_a, xdf_b):
    """Map A's recording clock onto B's through an LSL stream both files recorded.

    Each file stores, for every stream, the line ``offset = a + b t`` through its clock
    offsets (``t`` the stream's own clock), which puts the stream's time ``t`` at
    ``a + (1 + b) t`` on that file's recording computer. A stream recorded in both files
    (same LSL uid) links the two recording clocks: ``t_B = c0 + c1 t_A``. Returns None if
    the files share no stream.
    """
    fits_b = {c["key"]: c for c in xdf_b.get("clocks", [])}
    best = None
    for ca in xdf_a.get("clocks", []):
        cb = fits_b.get(ca["key"])
        if cb is not None and (best is None or min(ca["n"], cb["n"]) > best[0]):
            best = (min(ca["n"], cb["n"]), ca, cb)
    if best is None:
        return None
    _, ca, cb = best
    c1 = (1.0 + cb["b"]) / (1.0 + ca["b"])
    return dict(
        stream=ca["name"],
        c0=cb["a"] - c1 * ca["a"],
        c1=c1,
        n_offsets=[ca["n"], cb["n"]],
        offset_fit_rms_ms=[ca["rms_ms"], cb["rms_ms"]],
    )


def _lsl_line(xdf_a, xdf_b, names, report):
    """B's file time against A's from the LSL clocks: (slope, intercept)."""
    link = _shared_clock(xdf_a, xdf_b)
    if link is None:
        logger.info(
            f"{names[0]} and {names[1]} share no LSL stream: sync='lsl' takes them as "
            "recorded on one computer's clock."
        )
        link = dict(stream=None, c0=0.0, c1=1.0)
    t0_a, t0_b = xdf_a["lsl_time0"], xdf_b["lsl_time0"]
    slope = link["c1"]
    intercept = link["c0"] + slope * t0_a - t0_b
    report.update(
        method="lsl-clock",
        clock=(
            f"recording clocks linked by the stream {link['stream']!r} both files hold"
            if link["stream"] is not None
            else "one recording clock (assumed, sync='lsl')"
        ),
        shared_stream=link["stream"],
        recorder_offset_s=float(link["c0"] + (link["c1"] - 1.0) * t0_a),
        lsl_time0=[t0_a, t0_b],
        n_offsets=link.get("n_offsets"),
        offset_fit_rms_ms=link.get("offset_fit_rms_ms"),
        n_pulses=0,
        offset_s=float(intercept),
        drift_ppm=float((slope - 1.0) * 1e6),
        residual_ms_max=None,
        residual_ms_rms=None,
    )
    return slope, intercept
