"""TMSi Poly5 headers: the file layout, its fields and their checks.

Used by :mod:`~hyperinsync.io.poly5`.
"""

from __future__ import annotations

import datetime
import re
import struct
import zlib

import numpy as np

from .._utils import (
    logger,
    warn,
)
from .errors import DyadIOError

_MAGIC = {
    "2.03": b"POLY SAMPLE FILEversion 2.03\r\n\x1a",
    "2.04": b"POLY SAMPLE FILE version 2.04\r\n\x1a",
}


_VERSION_NUMBER = {"2.03": 203, "2.04": 204}


_HEADER_SIZE = 217  # for version 2.03; version 2.04's longer magic adds one byte


_DESC_SIZE = 136


_BLOCK_HEADER_SIZE = 86


# Offsets below are for version 2.03; version 2.04 adds 1 to each of them.
_HDR = struct.Struct("<H B80s h h B H i 4x 7H i H H H 64x")  # from offset 31


_DESC = struct.Struct("<B40s 4x B10s 4f H H 60x")


_BLOCK_HDR = struct.Struct("<i 4x 7H 64x")


# Marks a description (info['description'], e.g. a dyad's roles and alignment report) that
# hyperinsync stored in reserved bytes because the 80-character name field cannot hold it.
_EXT_MAGIC = b"HISD"


# Units, after normalising "µ"/"μ" to "u" and lower-casing, to their factor to SI volts.
_VOLT_UNITS = {
    "uvolt": 1e-6,
    "uv": 1e-6,
    "mvolt": 1e-3,
    "mv": 1e-3,
    "volt": 1.0,
    "v": 1.0,
    "nvolt": 1e-9,
    "nv": 1e-9,
}


# Non-voltage units TMSi and others use; values are kept and no message is logged.
_PLAIN_UNITS = {"", "-", "bit", "bits", "a.u.", "au", "n.u.", "%", "bpm", "ohm", "kohm"}


_STIM_RE = re.compile(r"^(TRIG|DIGI|DIG$|STATUS|STI\d*$|STIM|MARKER)", re.IGNORECASE)


_ECG_RE = re.compile(r"(ECG|EKG)", re.IGNORECASE)


_EOG_RE = re.compile(r"EOG", re.IGNORECASE)


_EMG_RE = re.compile(r"EMG", re.IGNORECASE)


_MISC_RE = re.compile(
    r"^(COUNTER|CNT|SAW|APG|BIP|AUX|SPO2|PLETH|PPG|HR$|HEART|BAT|RESP|BREATH|TEMP|GSR|"
    r"EDA|ACC|GYRO|SENSOR|IMPED)",
    re.IGNORECASE,
)


# 10-20, 10-10 and 10-05 electrode names (Fp1, AF3, FCz, T3, FFC1h, Iz, M1, ...).
_TEN_TEN_RE = re.compile(
    r"^(N|NZ|FP|AFP|AF|AFF|F|FFT|FT|FTT|FFC|FC|FCC|T|TTP|C|CCP|TP|TPP|CP|CPP|P|PPO|PO|POO|"
    r"O|OI|I|IZ|M|A)(Z|\d{1,2}H?)$",
    re.IGNORECASE,
)


class Poly5Error(DyadIOError):
    """A Poly5 file is malformed or cannot be read; the message names the file and field.

    A :class:`ValueError` (through :class:`hyperinsync.io.errors.DyadIOError`), so callers
    that load dyads pass it on unchanged.

    Examples
    --------
    >>> _ = open("notes.Poly5", "w").write("session notes")
    >>> try:
    ...     hs.io.read_raw_poly5("notes.Poly5")
    ... except hs.io.Poly5Error as err:
    ...     print(str(err).split(": ")[1])
    wrong magic string
    """


_TODO = (
    "The file is damaged or was not written as a Poly5 file; export the recording again "
    "from the acquisition software."
)


def _fail(fname, what, todo=_TODO):
    raise Poly5Error(f"Poly5 file {fname}: {what}. {todo}")


def _decode(raw_bytes):
    # TMSi software writes Latin-1 ("\xb5Volt"); other writers use UTF-8 ("\xc2\xb5Volt").
    try:
        return raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return raw_bytes.decode("latin-1")


def _pascal(fname, length, raw_bytes, field, max_len, strict=True):
    """Decode a length-prefixed string, raising (or clamping) when the length overflows."""
    if length > max_len:
        if strict:
            _fail(
                fname,
                f"{field} has length byte {length}, but the field holds at most {max_len} "
                "characters (corrupted signal description)",
            )
        length = max_len
    return _decode(raw_bytes[:length]).rstrip("\x00").strip()


def _unit_scale(unit):
    """Return (factor to SI, kind) with kind 'volt', 'plain' or 'unknown'."""
    key = unit.replace("\u00b5", "u").replace("\u03bc", "u").lower().strip()
    if key in _VOLT_UNITS:
        return _VOLT_UNITS[key], "volt"
    if key in _PLAIN_UNITS:
        return 1.0, "plain"
    return 1.0, "unknown"


def _guess_type(name, unit_kind):
    """Guess an MNE channel type from a TMSi channel name and its unit."""
    # Dyads written by hyperinsync carry "<role>:<channel>" names; type the channel part.
    base = name.rsplit(":", 1)[-1].strip()
    if _STIM_RE.match(base):
        return "stim"
    volts = unit_kind == "volt"
    if volts and _TEN_TEN_RE.match(base):
        return "eeg"
    for regex, kind in ((_ECG_RE, "ecg"), (_EOG_RE, "eog"), (_EMG_RE, "emg")):
        if regex.search(base):
            return kind if volts else "misc"
    if _MISC_RE.match(base):
        return "misc"
    return "eeg" if volts else "misc"


def _parse_date(fname, fields):
    year, month, day, _, hour, minute, second = fields
    if not any(fields):
        logger.info(f"Poly5 file {fname}: no measurement date stored; meas_date is None.")
        return None
    try:
        date = datetime.datetime(
            year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc
        )
    except ValueError as err:
        logger.info(
            f"Poly5 file {fname}: invalid measurement date {fields} ({err}); meas_date is None."
        )
        return None
    if year < 1970:  # MNE stores meas_date as seconds since the epoch
        logger.info(f"Poly5 file {fname}: measurement date {date} predates 1970; ignored.")
        return None
    return date


def _read_header(fname, allow_truncated):
    """Parse and validate everything before the data; return a dict of layout facts."""
    size = fname.stat().st_size
    if size == 0:
        _fail(fname, "the file is empty (0 bytes)", "Re-export the recording.")
    with open(fname, "rb") as fid:
        head = fid.read(_HEADER_SIZE + 1)
        if head.startswith(_MAGIC["2.04"]):
            version = "2.04"
        elif head.startswith(_MAGIC["2.03"]):
            version = "2.03"
        else:
            found = head[:32]
            hint = (
                f"truncated header: the file is {len(head)} bytes, too short to hold the "
                "magic string"
                if any(m.startswith(head) for m in _MAGIC.values())
                else f"wrong magic string: expected {_MAGIC['2.03']!r} (version 2.03) or "
                f"{_MAGIC['2.04']!r} (version 2.04), found {found!r}"
            )
            _fail(fname, hint, "Only TMSi Poly5 files of versions 2.03 and 2.04 are supported.")
        shift = len(_MAGIC[version]) - 31
        header_size = _HEADER_SIZE + shift
        if len(head) < header_size:
            _fail(
                fname,
                f"truncated header: expected {header_size} bytes, found {len(head)}",
            )
        (
            version_number,
            name_len,
            name_raw,
            sfreq,
            storage_rate,
            storage_type,
            n_desc,
            n_samples,
            *date_fields,
            n_blocks,
            spb,
            block_size,
            compression,
        ) = _HDR.unpack_from(head, 31 + shift)
        if version_number != _VERSION_NUMBER[version]:
            warn(
                f"Poly5 file {fname}: the version field is {version_number}, but the magic "
                f"string says version {version}; reading it as version {version}."
            )
        if n_desc == 0 or n_desc % 2:
            _fail(
                fname,
                f"the number of signal descriptions (NS, offset {119 + shift}) is {n_desc}; "
                "expected a positive even number (two per channel)",
            )
        n_chan = n_desc // 2
        if sfreq <= 0:
            _fail(
                fname,
                f"the sample rate (offset {114 + shift}) is {sfreq} Hz; expected a positive number",
            )
        if compression != 0:
            _fail(
                fname,
                f"the compression flag (offset {151 + shift}) is {compression}; only "
                "uncompressed files (0) are supported",
            )
        if n_samples <= 0:
            _fail(
                fname,
                f"the samples-per-channel field (offset {121 + shift}) is {n_samples}; "
                "expected a positive number (a recording holds at least one sample)",
            )
        if spb == 0:
            _fail(fname, f"the samples-per-block field (offset {147 + shift}) is 0")
        if n_blocks < 0:
            _fail(fname, f"the number of data blocks (offset {143 + shift}) is {n_blocks}")
        # A writer that drops the incomplete last block announces one block fewer than the
        # samples need; more than that cannot be explained by any known writer.
        room = n_blocks * spb
        if n_samples > room + spb or (n_samples > room and n_samples % spb == 0):
            _fail(
                fname,
                f"the header announces {n_samples} samples per channel but only {n_blocks} "
                f"blocks of {spb} samples (room for {n_blocks * spb})",
            )
        data_bytes = n_chan * spb * 4
        if block_size == 0:
            logger.info(
                f"Poly5 file {fname}: block data size (SD) is 0; using channels x samples per "
                f"block x 4 = {data_bytes} bytes."
            )
        elif block_size != data_bytes:
            if block_size == data_bytes % 65536:
                logger.info(
                    f"Poly5 file {fname}: block data size (SD) {block_size} is "
                    f"{data_bytes} modulo 2**16 (the uint16 field overflowed); using {data_bytes}."
                )
            else:
                _fail(
                    fname,
                    f"block data size (SD, offset {149 + shift}) is {block_size} bytes, but "
                    f"{n_chan} channels x {spb} samples per block x 4 bytes = {data_bytes}",
                )
        name = _pascal(fname, name_len, name_raw, "measurement name", 80, strict=False)
        meas_date = _parse_date(fname, date_fields)

        desc_start = header_size
        data_start = desc_start + n_desc * _DESC_SIZE
        if size < data_start:
            _fail(
                fname,
                f"truncated signal descriptions: {n_desc} descriptions of {_DESC_SIZE} bytes "
                f"need {data_start} bytes before the data, but the file has {size}",
            )
        fid.seek(desc_start)
        descs = fid.read(n_desc * _DESC_SIZE)

    ch_names, units, gains, offsets = [], [], [], []
    for ci in range(n_chan):
        (
            nlen,
            nraw,
            ulen,
            uraw,
            unit_low,
            unit_high,
            adc_low,
            adc_high,
            _,
            _,
        ) = _DESC.unpack_from(descs, 2 * ci * _DESC_SIZE)
        ch_name = _pascal(fname, nlen, nraw, f"the name of signal description {2 * ci}", 40)
        if ch_name.startswith("(Lo) "):
            ch_name = ch_name[5:].strip()
        else:
            logger.info(
                f"Poly5 file {fname}: signal description {2 * ci} ({ch_name!r}) lacks the "
                "'(Lo) ' prefix; keeping the name as it is."
            )
        if not ch_name:
            ch_name = f"CH{ci + 1}"
            logger.info(f"Poly5 file {fname}: channel {ci + 1} has no name; using {ch_name}.")
        unit = _pascal(fname, ulen, uraw, f"the unit of channel {ch_name!r}", 10)
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in unit):
            _fail(
                fname,
                f"the unit of channel {ch_name!r} is {unit!r}, which contains control "
                "characters (corrupted signal description)",
            )
        cal = np.array([unit_low, unit_high, adc_low, adc_high], float)
        if not np.all(np.isfinite(cal)) or adc_high == adc_low or unit_high == unit_low:
            _fail(
                fname,
                f"channel {ch_name!r} has calibration UnitLow={unit_low}, "
                f"UnitHigh={unit_high}, ADCLow={adc_low}, ADCHigh={adc_high}; expected "
                "finite values with ADCHigh != ADCLow and UnitHigh != UnitLow",
            )
        gain = (unit_high - unit_low) / (adc_high - adc_low)
        ch_names.append(ch_name)
        units.append(unit)
        gains.append(gain)
        offsets.append(unit_low - adc_low * gain)

    # Count the samples actually present; the last block may be partial or missing.
    stride = _BLOCK_HEADER_SIZE + data_bytes
    full_blocks, rest = divmod(size - data_start, stride)
    sfreq = _check_rates(fname, sfreq, storage_rate, shift, data_start, stride, spb, full_blocks)
    partial = max(0, rest - _BLOCK_HEADER_SIZE) // (n_chan * 4)
    n_present = full_blocks * spb + min(partial, spb)
    n_read = n_samples
    if n_present < n_samples:
        dropped_last = rest == 0 and full_blocks == n_blocks and n_samples - n_present < spb
        if dropped_last:
            logger.info(
                f"Poly5 file {fname}: the incomplete last block ({n_samples - n_present} "
                f"samples) was not written; reading the {n_present} samples present."
            )
            n_read = n_present
        elif allow_truncated and n_present > 0:
            warn(
                f"Poly5 file {fname}: the file is truncated; only {n_present} of "
                f"{n_samples} samples per channel are present. Reading those."
            )
            n_read = n_present
        else:
            todo = (
                "Pass allow_truncated=True to read the complete samples."
                if n_present > 0
                else "The file holds no complete sample; re-export the recording."
            )
            _fail(
                fname,
                f"the file is truncated: the header announces {n_samples} samples per "
                f"channel, but only {n_present} are present ({size} bytes, "
                f"{full_blocks} complete blocks of {stride} bytes)",
                todo,
            )
    description = _read_description(fname, name, descs, data_start, stride, full_blocks)
    return dict(
        version=version,
        name=description,
        sfreq=float(sfreq),
        n_chan=n_chan,
        n_samples=n_read,
        n_samples_header=n_samples,
        spb=spb,
        stride=stride,
        data_start=data_start,
        size=size,
        meas_date=meas_date,
        ch_names=ch_names,
        units=units,
        gains=np.array(gains),
        offsets=np.array(offsets),
    )


def _block_date(fid, offset):
    fid.seek(offset + 8)
    fields = struct.unpack("<7H", fid.read(14).ljust(14, b"\x00"))
    year, month, day, _, hour, minute, second = fields
    try:
        return datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _check_rates(fname, sfreq, storage_rate, shift, data_start, stride, spb, n_blocks):
    """Return the sample rate, when the sample-rate and storage-rate fields disagree.

    poly5.md: the storage rate equals the sample rate, so a file where both are positive
    and differ has one of them damaged. The block headers' time stamps (whole seconds) and
    the samples between the first and the last complete block tell which one is right.
    """
    if storage_rate <= 0 or storage_rate == sfreq:
        if storage_rate <= 0:
            logger.info(
                f"Poly5 file {fname}: the storage-rate field is {storage_rate} (not "
                f"filled in); using the sample rate {sfreq} Hz."
            )
        return sfreq
    fields = (
        f"the sample-rate field (offset {114 + shift}) is {sfreq} Hz and the "
        f"storage-rate field (offset {116 + shift}) is {storage_rate} Hz, but the "
        "format requires them equal, so one of them is damaged"
    )
    why = "it holds fewer than two complete data blocks"
    if n_blocks >= 2:
        with open(fname, "rb") as fid:
            first = _block_date(fid, data_start)
            last = _block_date(fid, data_start + (n_blocks - 1) * stride)
        n = (n_blocks - 1) * spb
        if first is None or last is None:
            why = "its data blocks carry no valid time stamps"
        else:
            dt = (last - first).total_seconds()
            # each stamp is cut to whole seconds: the true span is within 1 s of dt
            fits = [r for r in (sfreq, storage_rate) if abs(n / r - dt) < 1.0]
            if len(fits) == 1:
                warn(
                    f"Poly5 file {fname}: {fields}. The data blocks are stamped {dt:.0f} s "
                    f"apart for {n} samples, which fits {fits[0]} Hz only: reading the file "
                    f"at {fits[0]} Hz."
                )
                return fits[0]
            why = (
                f"the data blocks are stamped {dt:.0f} s apart for {n} samples, which "
                f"fits {'both' if fits else 'neither'}"
            )
    _fail(
        fname,
        f"{fields}; {why}, so the rate cannot be told",
        f"If you know the true rate, write it into both fields (int16 at offsets "
        f"{114 + shift} and {116 + shift}) of a copy of the file.",
    )


def _description_slots(n_desc, data_start, stride, n_blocks, version_shift):
    """Where hyperinsync stores a description too long for the measurement name.

    Reserved bytes the layout leaves unused: 60 in each signal description (from offset 76),
    then 64 in each data block header (from offset 22). Other readers skip them.
    """
    desc0 = _HEADER_SIZE + version_shift
    slots = [(desc0 + k * _DESC_SIZE + 76, 60) for k in range(n_desc)]
    slots += [(data_start + g * stride + 22, 64) for g in range(n_blocks)]
    return slots


def _pack_description(text):
    body = text.encode("utf-8")
    return _EXT_MAGIC + struct.pack("<I", len(body)) + body + struct.pack("<I", zlib.crc32(body))


def _read_description(fname, name, descs, data_start, stride, n_blocks):
    """Return the description: hyperinsync's stored one if present and intact, else the name."""
    from ..roles import META_MARKER, split_description

    if descs[76:80] == _EXT_MAGIC:
        n_desc = len(descs) // _DESC_SIZE
        shift = data_start - n_desc * _DESC_SIZE - _HEADER_SIZE
        need = None
        buf = b""
        with open(fname, "rb") as fid:
            for pos, length in _description_slots(n_desc, data_start, stride, n_blocks, shift):
                fid.seek(pos)
                buf += fid.read(length)
                if need is None and len(buf) >= 8:
                    need = 12 + struct.unpack_from("<I", buf, 4)[0]
                if need is not None and len(buf) >= need:
                    break
        why = None
        if need is None or len(buf) < need:
            why = "it runs past the space reserved for it"
        else:
            body = buf[8 : need - 4]
            if struct.unpack_from("<I", buf, need - 4)[0] != zlib.crc32(body):
                why = "its checksum does not match"
            else:
                try:
                    text = body.decode("utf-8")
                    split_description(text)
                    return text
                except (UnicodeDecodeError, ValueError) as err:
                    why = f"it cannot be decoded ({err})"
        warn(
            f"Poly5 file {fname}: the description hyperinsync stored in reserved bytes is "
            f"damaged ({why}); using the measurement name field instead."
        )
    try:
        split_description(name)
    except ValueError:
        # an older hyperinsync cut its metadata to the 80-character name field
        logger.info(
            f"Poly5 file {fname}: the measurement name holds a cut hyperinsync "
            "metadata block; dropped."
        )
        name = name.split(META_MARKER, 1)[0].rstrip("\n")
    return name


def _unique(fname, names):
    seen, out = {}, []
    for name in names:
        if name in seen:
            seen[name] += 1
            new = f"{name}-{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}-{seen[name]}"
            warn(f"Poly5 file {fname}: channel name {name!r} repeats; renamed to {new!r}.")
            name = new
        seen.setdefault(name, 0)
        out.append(name)
    return out
