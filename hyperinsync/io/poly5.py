"""Read and write TMSi Poly5 files (versions 2.03 and 2.04).

The binary layout is documented in ``shared/formats/poly5.md``: a 217-byte header (218 for
version 2.04, whose magic string is one byte longer), ``NS = 2 x channels`` signal descriptions
of 136 bytes ("(Lo) name" / "(Hi) name" pairs; the (Lo) entry is kept) and data blocks of an
86-byte block header followed by float32 samples stored sample-major.

Decisions that matter to users:

* **Truncated files.** A file whose data stop before the samples-per-channel field raises
  :class:`Poly5Error` saying how many samples are present, unless ``allow_truncated=True``
  (then the complete samples are read and a warning is emitted). The one exception is the
  writer that drops the incomplete last block: when the file ends on a block boundary, holds
  exactly the number of blocks its header announces and misses less than one block of samples,
  the samples that were never written are simply absent (logged, no error).
* **NaN/Inf samples** are kept as they are. Some acquisition software writes NaN for samples
  it lost; replacing them would invent data, and checking would defeat lazy loading.
* **Sample rate.** The layout stores it twice (sample rate and storage rate, documented as
  equal). When both are positive and differ, one is damaged: the block headers' time stamps
  decide which (with a warning naming both fields); when they cannot, :class:`Poly5Error`.
  A storage rate of 0 is taken as not filled in.
* **Descriptions longer than the 80-character measurement name** (a dyad's roles and
  alignment report in ``info['description']``) are stored whole, with a checksum, in bytes
  the layout reserves (60 per signal description, then 64 per block header), which other
  readers skip; the name field gets the free text. ``write_poly5`` refuses a description
  that does not fit there.
"""

from __future__ import annotations

import datetime
import struct
from pathlib import Path

import numpy as np
from mne import create_info
from mne._fiff.constants import FIFF
from mne._fiff.utils import _mult_cal_one
from mne.io import BaseRaw
from mne.utils import _check_fname

from .._docs import fill_doc
from .._utils import (
    _check_option,
    _validate_type,
    atomic_path,
    logger,
    verbose,
)
from .poly5_header import (
    _BLOCK_HDR,
    _BLOCK_HEADER_SIZE,
    _DESC,
    _DESC_SIZE,
    _HDR,
    _HEADER_SIZE,
    _MAGIC,
    _VERSION_NUMBER,
    Poly5Error,
    _description_slots,
    _guess_type,
    _pack_description,
    _read_header,
    _unique,
    _unit_scale,
)

__all__ = ["Poly5Error", "RawPoly5", "read_raw_poly5", "write_poly5"]


assert _HDR.size == _HEADER_SIZE - 31


assert _DESC.size == _DESC_SIZE


assert _BLOCK_HDR.size == _BLOCK_HEADER_SIZE


_MAX_READ_BYTES = 32 * 1024**2  # read lazily in pieces of at most this many bytes


@fill_doc
class RawPoly5(BaseRaw):
    """Raw data from a TMSi Poly5 file, loaded lazily unless ``preload`` is set.

    Parameters
    ----------
    fname : path-like
        The ``.Poly5`` file.
    preload : bool | str
        Load the data into memory now (``True``), into a memory-mapped file (a path), or read
        it on demand (``False``, default).
    allow_truncated : bool
        Read the complete samples of a file cut in the middle of its data (with a warning)
        instead of raising :class:`Poly5Error`.
    %(verbose)s

    Notes
    -----
    Values are calibrated with each channel's UnitLow/UnitHigh/ADCLow/ADCHigh and converted to
    volts for voltage units. Channels in other units keep their values and become ``misc``
    (``stim`` for trigger channels). Samples past the samples-per-channel field (zero padding
    of the last block) are never returned. NaN samples are kept.

    Examples
    --------
    >>> raw, truth = hs.simulate_dyad(duration=4.0, sfreq=100.0, seed=0)
    >>> fname = hs.io.write_poly5("A.Poly5", raw.participant("A").pick(["Fz", "Cz"]))
    >>> from hyperinsync.io.poly5 import RawPoly5
    >>> RawPoly5(fname)          # what read_raw_poly5 returns: read on demand
    <RawPoly5 | A.Poly5, 2 x 400 (4.0 s), ~... KiB, data not loaded>
    """

    @verbose
    def __init__(self, fname, preload=False, *, allow_truncated=False, verbose=None):
        fname = Path(_check_fname(fname, "read", True, "fname"))
        _validate_type(allow_truncated, bool, "allow_truncated")
        logger.info(f"Reading Poly5 file {fname}")
        hdr = _read_header(fname, allow_truncated)
        scales, ch_types, fiff_units = [], [], []
        for name, unit in zip(hdr["ch_names"], hdr["units"]):
            scale, kind = _unit_scale(unit)
            if kind == "unknown":
                logger.info(
                    f"Poly5 file {fname}: channel {name!r} has unit {unit!r}, which is not "
                    "a known unit; keeping its values unscaled as a misc channel."
                )
            ch_type = "misc" if kind == "unknown" else _guess_type(name, kind)
            # Trigger codes are kept as stored, whatever unit the writer put on them.
            scales.append(1.0 if ch_type == "stim" else scale)
            ch_types.append(ch_type)
            fiff_units.append(FIFF.FIFF_UNIT_V if kind == "volt" else FIFF.FIFF_UNIT_NONE)
        ch_names = _unique(fname, hdr["ch_names"])
        info = create_info(ch_names, hdr["sfreq"], ch_types)
        for ch, fiff_unit, ch_type in zip(info["chs"], fiff_units, ch_types):
            if ch_type == "misc":  # create_info gives misc channels volts; keep the truth
                ch["unit"] = fiff_unit
        with info._unlock():
            info["meas_date"] = hdr["meas_date"]
            if hdr["name"]:
                info["description"] = hdr["name"]
        scales = np.array(scales)
        extras = dict(
            n_chan=hdr["n_chan"],
            spb=hdr["spb"],
            stride=hdr["stride"],
            data_start=hdr["data_start"],
            version=hdr["version"],
            units=hdr["units"],
            # Calibration and unit conversion folded into one affine map per channel.
            gain=hdr["gains"] * scales,
            offset=hdr["offsets"] * scales,
        )
        super().__init__(
            info,
            preload=preload,
            filenames=[str(fname)],
            last_samps=[hdr["n_samples"] - 1],
            orig_format="single",
            raw_extras=[extras],
            verbose=verbose,
        )

    def _read_segment_file(self, data, idx, fi, start, stop, cals, mult):
        """Read samples [start, stop) of file ``fi``, touching only the blocks needed."""
        ex = self._raw_extras[fi]
        n_chan, spb, stride = ex["n_chan"], ex["spb"], ex["stride"]
        block_dtype = np.dtype([("head", f"V{_BLOCK_HEADER_SIZE}"), ("data", "<f4", (spb, n_chan))])
        blocks_per_read = max(1, _MAX_READ_BYTES // stride)
        first, last = start // spb, (stop - 1) // spb  # inclusive block range
        gain, offset = ex["gain"][:, None], ex["offset"][:, None]
        with open(self.filenames[fi], "rb") as fid:
            for b0 in range(first, last + 1, blocks_per_read):
                b1 = min(last + 1, b0 + blocks_per_read)
                fid.seek(ex["data_start"] + b0 * stride)
                buf = fid.read((b1 - b0) * stride)
                if len(buf) < (b1 - b0) * stride:
                    # Last block incomplete on disk: only samples < n_times are used and the
                    # header check guaranteed those are present, so pad to whole blocks.
                    buf = buf + bytes((b1 - b0) * stride - len(buf))
                samples = np.frombuffer(buf, block_dtype)["data"].reshape(-1, n_chan)
                s0 = max(start, b0 * spb)
                s1 = min(stop, b1 * spb)
                one = samples[s0 - b0 * spb : s1 - b0 * spb].T * gain + offset
                _mult_cal_one(data[:, s0 - start : s1 - start], one, idx, cals, mult)


@fill_doc
@verbose
def read_raw_poly5(fname, preload=False, *, allow_truncated=False, verbose=None):
    """Read a TMSi Poly5 file (version 2.03 or 2.04).

    Parameters
    ----------
    fname : path-like
        The ``.Poly5`` file.
    preload : bool | str
        Load the data into memory now (``True``), into a memory-mapped file (a path), or read
        it on demand (``False``, default).
    allow_truncated : bool
        If the file stops before the number of samples its header announces, read the
        complete samples and warn, instead of raising :class:`Poly5Error` (default).
    %(verbose)s

    Returns
    -------
    raw : RawPoly5
        The recording, in volts for voltage channels. Channel types are guessed from names and
        units: trigger/status channels are ``stim``; counters, saw-tooth, AUX, BIP, SpO2,
        battery and other sensors are ``misc`` (``ecg``/``eog``/``emg`` when so named); other
        channels in volts are ``eeg``; channels in unknown units are ``misc``.

    Raises
    ------
    Poly5Error
        The file is empty, not a Poly5 file of a supported version, truncated, or carries
        impossible header fields or signal descriptions, or sample-rate and storage-rate
        fields that differ when the block time stamps cannot tell which is right. The
        message names the file and the field.

    Notes
    -----
    ``info['meas_date']`` is the header's start date taken as UTC (the format stores no time
    zone); invalid dates give ``None``. NaN samples are returned as NaN.
    """
    return RawPoly5(fname, preload=preload, allow_truncated=allow_truncated, verbose=verbose)


def _date_fields(date):
    if date is None:
        return (0,) * 7
    return (
        date.year,
        date.month,
        date.day,
        date.isoweekday() % 7,
        date.hour,
        date.minute,
        date.second,
    )


def _name_field(description):
    """Return the measurement name written for ``description``: its free text, up to 80 bytes.

    hyperinsync's metadata block never goes into the name field (other readers show it,
    and cut to 80 characters it could not be read back); when the name differs from the
    description, the whole description goes into reserved bytes, where our reader finds it.
    """
    from ..roles import split_description

    try:
        free = split_description(description)[0]
    except ValueError:  # a damaged block: the whole text goes to the reserved bytes
        free = description
    return free.encode("latin-1", errors="replace")[:80].decode("latin-1").strip()


def _pascal_bytes(text, max_len, what, encoding="latin-1"):
    raw = text.encode(encoding, errors="replace")
    if len(raw) > max_len:
        raise ValueError(
            f"{what} {text!r} is {len(raw)} bytes long; Poly5 allows at most {max_len}. "
            "Rename it (e.g. raw.rename_channels) before writing."
        )
    return struct.pack("<B", len(raw)) + raw.ljust(max_len, b"\x00")


@fill_doc
@verbose
def write_poly5(
    fname, raw, *, version="2.03", samples_per_block=None, overwrite=False, verbose=None
):
    """Write a Raw object to a TMSi Poly5 file.

    Parameters
    ----------
    fname : path-like
        The file to write. It is written atomically: an error or a killed process never
        leaves a partial file behind.
    raw : mne.io.BaseRaw
        The data. The sampling frequency must be a whole number of Hz (the format stores it
        as int16). Lazily loaded data are written block by block without loading them whole.
    version : '2.03' | '2.04'
        The Poly5 version to write.
    samples_per_block : int | None
        Samples per data block. ``None`` uses one second of data, capped so that a block of
        data fits the uint16 block-size field (65535 bytes).
    overwrite : bool
        Replace ``fname`` if it exists.
    %(verbose)s

    Returns
    -------
    fname : pathlib.Path
        The file written.

    Notes
    -----
    ``info['description']`` round-trips through :func:`read_raw_poly5`: its free text goes
    into the 80-character measurement name, and when that cannot hold it all (e.g. a
    dyad's alignment report), the whole text is stored in reserved bytes of the signal
    descriptions and block headers; a description too long even for those raises
    ``ValueError`` (save as FIF instead).

    Calibration is the identity (UnitLow, UnitHigh, ADCLow, ADCHigh = 0, 1000, 0, 1000).
    Channels measured in volts are stored in µVolt (unit written in Latin-1, as TMSi does);
    other channels (stim, misc without a voltage unit) are stored as their values with unit
    ``"-"``. The last block is zero-padded. The format has no channel-type field, so
    :func:`read_raw_poly5` guesses the types back from names and units.
    """
    _validate_type(raw, BaseRaw, "raw")
    _check_option("version", version, tuple(_MAGIC))
    _validate_type(overwrite, bool, "overwrite")
    fname = Path(_check_fname(fname, overwrite=overwrite, name="fname"))
    sfreq = raw.info["sfreq"]
    if sfreq != round(sfreq) or not 0 < sfreq <= 32767:
        raise ValueError(
            f"Poly5 stores the sample rate as a whole number of Hz up to 32767, but the data "
            f"are sampled at {sfreq} Hz. Resample first (raw.resample)."
        )
    n_chan, n_times = len(raw.ch_names), raw.n_times
    if n_chan > 65535 // 8:
        raise ValueError(f"Poly5 holds at most {65535 // 8} channels; the data have {n_chan}.")
    if n_times > np.iinfo(np.int32).max:
        raise ValueError(f"Poly5 holds at most 2**31-1 samples; the data have {n_times}.")
    max_spb = 65535 // (4 * n_chan)
    if samples_per_block is None:
        samples_per_block = max(1, min(int(sfreq), max_spb))
    _validate_type(samples_per_block, "int", "samples_per_block")
    if not 1 <= samples_per_block <= max_spb:
        raise ValueError(
            f"samples_per_block must be between 1 and {max_spb} for {n_chan} channels (the "
            f"block size {n_chan} x samples x 4 bytes must fit in 65535), got "
            f"{samples_per_block}."
        )
    spb = int(samples_per_block)
    n_blocks = -(-n_times // spb)

    scales, unit_names = [], []
    for ch in raw.info["chs"]:
        # MNE gives stim channels the unit V, but they hold trigger codes, stored as they are.
        if ch["unit"] == FIFF.FIFF_UNIT_V and ch["kind"] != FIFF.FIFFV_STIM_CH:
            scales.append(1e6)
            unit_names.append("\u00b5Volt")
        else:
            scales.append(1.0)
            unit_names.append("-")
    scales = np.array(scales)[:, None]

    meas_date = raw.info["meas_date"]
    magic = _MAGIC[version]
    text = raw.info["description"] or ""
    name = _name_field(text)
    stride = _BLOCK_HEADER_SIZE + n_chan * spb * 4
    data_start = len(magic) + _HDR.size + 2 * n_chan * _DESC_SIZE
    slots = _description_slots(2 * n_chan, data_start, stride, n_blocks, len(magic) - 31)
    reserved = [bytes(length) for _, length in slots]
    if text != name:
        payload = _pack_description(text)
        room = sum(length for _, length in slots)
        if len(payload) > room:
            raise ValueError(
                f"raw.info['description'] ({len(text)} characters, e.g. a dyad's roles and "
                f"alignment report) does not fit in a Poly5 file: its measurement name holds "
                f"80 characters and the reserved bytes hyperinsync stores the rest in hold "
                f"{room - 12} for {n_chan} channels and {n_blocks} blocks. Save it as FIF "
                "(raw.save), which keeps it whole, or shorten raw.info['description']."
            )
        at = 0
        for k, (_, length) in enumerate(slots):
            reserved[k] = payload[at : at + length].ljust(length, b"\x00")
            at += length
    header = magic + _HDR.pack(
        _VERSION_NUMBER[version],
        *struct.unpack("<B80s", _pascal_bytes(name, 80, "description", "latin-1")),
        int(sfreq),
        int(sfreq),
        0,
        2 * n_chan,
        n_times,
        *_date_fields(meas_date),
        n_blocks,
        spb,
        n_chan * spb * 4,
        0,
    )
    descs = []
    for ci, (ch_name, unit) in enumerate(zip(raw.ch_names, unit_names)):
        for half, prefix in enumerate(("(Lo) ", "(Hi) ")):
            name_bytes = _pascal_bytes(prefix + ch_name, 40, "Channel name", "utf-8")
            descs.append(
                name_bytes
                + bytes(4)
                + _pascal_bytes(unit, 10, "unit")
                + struct.pack("<4f2H", 0.0, 1000.0, 0.0, 1000.0, 2 * ci + half, 0)
                + reserved[2 * ci + half]
            )
    logger.info(
        f"Writing {n_chan} channels x {n_times} samples to {fname} (Poly5 {version}, "
        f"{n_blocks} blocks of {spb} samples)"
    )
    chunk_blocks = max(1, _MAX_READ_BYTES // (n_chan * spb * 8))
    with atomic_path(fname) as tmp, open(tmp, "wb") as fid:
        fid.write(header)
        fid.write(b"".join(descs))
        for b0 in range(0, n_blocks, chunk_blocks):
            b1 = min(n_blocks, b0 + chunk_blocks)
            values = raw.get_data(start=b0 * spb, stop=min(n_times, b1 * spb)) * scales
            padded = np.zeros((n_chan, (b1 - b0) * spb), "<f4")
            padded[:, : values.shape[1]] = values
            for bi in range(b1 - b0):
                first = (b0 + bi) * spb
                when = (
                    None
                    if meas_date is None
                    else (meas_date + datetime.timedelta(seconds=first / sfreq))
                )
                head = bytearray(_BLOCK_HDR.pack(first, *_date_fields(when)))
                head[22:86] = reserved[2 * n_chan + b0 + bi]
                fid.write(head)
                # Sample-major: transpose so all channels of one sample are adjacent.
                fid.write(np.ascontiguousarray(padded[:, bi * spb : (bi + 1) * spb].T).tobytes())
    return fname
