"""One recording file of any format MNE reads, checked complete before it is read.

:func:`recording_files` lists the files a recording consists of (a BrainVision header with
its data and marker files, an EEGLAB set with its data file, ...); :func:`read_recording`
reads it with MNE after checking that it is complete and not truncated.
"""

from __future__ import annotations

from pathlib import Path

import mne

from .._utils import _validate_type, verbose, warn
from .errors import DyadIOError

# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
_XDF_SUFFIXES = (".xdf", ".xdfz")


def _is_xdf(fname):
    return fname.suffix.lower() in _XDF_SUFFIXES or fname.name.lower().endswith(".xdf.gz")


def _damaged(fname, what, todo="Re-export or re-copy the recording"):
    raise DyadIOError(
        f"{fname} is truncated or damaged: {what}. hyperinsync does not read part of a "
        f"recording silently. {todo}."
    )


def _check_edf(fname):
    """Refuse an EDF/BDF file whose data do not match the record count of its header."""
    size = fname.stat().st_size
    try:
        with open(fname, "rb") as fid:
            head = fid.read(256)
            header_bytes = int(head[184:192].decode("ascii"))
            n_records = int(head[236:244].decode("ascii"))
            n_sig = int(head[252:256].decode("ascii"))
            fid.seek(256 + 216 * n_sig)
            spr = [int(fid.read(8).decode("ascii")) for _ in range(n_sig)]
    except (ValueError, UnicodeDecodeError):
        return  # not a header we can parse: the reader's own error will say why
    bps = 3 if head[:1] == b"\xff" else 2  # BDF: 24-bit samples
    record = sum(spr) * bps
    if record <= 0 or size < header_bytes:
        return
    data = size - header_bytes
    n_full, rest = divmod(data, record)
    if n_records == -1:  # allowed while recording: the file was not closed
        if rest:
            _damaged(
                fname,
                f"its header does not state the number of data records and "
                f"the last record is incomplete ({rest} of {record} bytes)",
            )
        warn(
            f"{fname}: its header does not state the number of data records (the "
            f"recording was not stopped properly); reading the {n_full} complete records."
        )
        return
    if n_full < n_records:
        _damaged(
            fname,
            f"its header announces {n_records} data records, but the file holds "
            f"{data / record:.2f} ({size} bytes)",
        )
    if n_full > n_records:
        _damaged(
            fname,
            f"it holds {n_full} data records, {n_full - n_records} more than its header announces",
        )


def _read_ini(fname):
    """Return a BrainVision header or marker file as a ConfigParser (keys keep their case)."""
    import configparser

    raw = fname.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    # the first line is the file's title, not an INI entry
    text = text.split("\n", 1)[1] if "\n" in text else ""
    cfg = configparser.ConfigParser(
        interpolation=None, strict=False, comment_prefixes=(";",), inline_comment_prefixes=None
    )
    cfg.optionxform = str
    cfg.read_string(text)
    return cfg


def _brainvision_parts(vhdr):
    """(header config, data file, marker file or None) of a BrainVision header."""
    import configparser

    try:
        cfg = _read_ini(vhdr)
        common = cfg["Common Infos"]
        data = vhdr.parent / common["DataFile"].strip()
        mrk = common.get("MarkerFile", "").strip()
    except (configparser.Error, KeyError, OSError, IndexError):
        return None, None, None
    return cfg, data, (vhdr.parent / mrk if mrk else None)


def _check_brainvision(fname):
    """Refuse a BrainVision recording whose data file stops before the header or markers."""
    import configparser

    cfg, data, mrk = _brainvision_parts(fname)
    if cfg is None or not data.is_file():
        return  # the reader's own error will say what is missing
    common = cfg["Common Infos"]
    if common.get("DataFormat", "BINARY").strip().upper() != "BINARY":
        return  # ASCII data: one sample per line, nothing to count here
    fmt = cfg.get("Binary Infos", "BinaryFormat", fallback="INT_16").strip().upper()
    bps = {"INT_16": 2, "UINT_16": 2, "INT_32": 4, "IEEE_FLOAT_32": 4}.get(fmt)
    try:
        n_ch = int(common["NumberOfChannels"])
    except (KeyError, ValueError):
        return
    if not bps or n_ch < 1:
        return
    size = data.stat().st_size
    n_samp, rest = divmod(size, bps * n_ch)
    if rest:
        _damaged(
            data,
            f"{size} bytes is not a whole number of samples of {n_ch} channels x "
            f"{bps} bytes (the last sample is incomplete)",
        )
    points = common.get("DataPoints", "").strip()
    if points.isdigit() and int(points) != n_samp:
        _damaged(
            data,
            f"its header {fname.name} announces {int(points)} samples per "
            f"channel, the data file holds {n_samp}",
        )
    if mrk is None or not mrk.is_file():
        return
    try:
        marks = _read_ini(mrk)["Marker Infos"]
    except (configparser.Error, KeyError, OSError):
        return
    positions = []
    for value in marks.values():
        fields = value.split(",")
        if len(fields) >= 3 and fields[2].strip().isdigit():
            positions.append(int(fields[2]))
    if positions and max(positions) > n_samp:
        _damaged(
            data,
            f"the marker file {mrk.name} has markers up to sample "
            f"{max(positions)}, but the data stop at sample {n_samp}",
        )


def _check_complete(fname):
    """Format checks MNE leaves to a warning (or skips): truncated EDF/BDF/BrainVision."""
    suffix = fname.suffix.lower()
    if suffix in (".edf", ".bdf"):
        _check_edf(fname)
    elif suffix == ".vhdr":  # .ahdr files hold one channel more than they declare
        _check_brainvision(fname)


def recording_files(fname):
    """List every file a hyperinsync reader opens to read one recording.

    Use it to tell whether a recording changed (hash every file it lists): a BrainVision
    recording is three files, an EEGLAB one may be two, a FIF recording larger than 2 GB is
    split into parts.

    Parameters
    ----------
    fname : path-like
        The path given to the reader (:func:`read_recording`, :func:`read_dyad_files`,
        :func:`hyperinsync.io.read_raw_poly5`, :func:`hyperinsync.io.read_raw_xdf`,
        :func:`hyperinsync.io.read_dyad_xdf`, :func:`hyperinsync.read_dyad_fif`, ...).

    Returns
    -------
    files : list of pathlib.Path
        ``fname`` first, then its companions that exist: BrainVision ``.vhdr``/``.ahdr`` ->
        the data and marker files its header names; EEGLAB ``.set`` -> the ``.fdt`` of the
        same name; FIF -> every part of a split file (from the file's own links); Nihon
        Kohden ``.eeg`` -> ``.pnt``/``.21e``/``.log``; Persyst ``.lay`` -> ``.dat``; Curry
        ``.cdt`` -> ``.cdt.dpa``/``.cdt.dpo``/``.cdt.ceo``; a directory (EGI ``.mff``, CTF
        ``.ds``) -> every file inside it, sorted. Other formats (EDF, BDF, GDF, Poly5, XDF,
        ...) are one file.

    Examples
    --------
    An EEGLAB recording is two files:

    >>> for name in ("rec.set", "rec.fdt"):
    ...     open(name, "w").close()
    >>> [str(p) for p in hs.io.recording_files("rec.set")]
    ['rec.set', 'rec.fdt']
    """
    _validate_type(fname, "path-like", "fname")
    fname = Path(fname)
    if fname.is_dir():
        return [fname] + sorted(p for p in fname.rglob("*") if p.is_file())
    out = [fname]
    suffix, name = fname.suffix.lower(), fname.name.lower()
    if suffix in (".vhdr", ".ahdr") and fname.is_file():
        _, data, mrk = _brainvision_parts(fname)
        out += [p for p in (data, mrk) if p is not None]
    elif suffix == ".fif" or name.endswith(".fif.gz"):
        if fname.is_file():
            try:
                parts = mne.io.read_raw_fif(fname, preload=False, verbose=False).filenames
            except Exception:  # epochs or a damaged file: its reader will say what is wrong
                parts = []
            # MNE's part names are absolute: compare resolved paths, or a relative fname
            # would be listed twice
            out += [
                Path(p) for p in parts if p is not None and Path(p).resolve() != fname.resolve()
            ]
    else:
        companions = {
            ".set": (".fdt", ".FDT"),
            ".eeg": (".pnt", ".PNT", ".21e", ".21E", ".log", ".LOG"),
            ".lay": (".dat", ".DAT"),
            ".cdt": (".cdt.dpa", ".cdt.dpo", ".cdt.ceo"),
        }.get(suffix, ())
        stem = fname.with_suffix("")
        out += [stem.with_name(stem.name + ext) for ext in companions]
    seen, files = set(), []
    for p in out:
        if p not in seen and (p == fname or p.is_file()):
            seen.add(p)
            files.append(p)
    return files


@verbose
def read_recording(fname, *, preload=True, verbose=None, **reader_kwargs):
    """Read one recording in any format hyperinsync reads, refusing damaged files.

    Parameters
    ----------
    fname : path-like
        A file :func:`mne.io.read_raw` reads, a TMSi ``.Poly5`` file
        (:func:`hyperinsync.io.read_raw_poly5`) or one person's XDF file
        (:func:`hyperinsync.io.read_raw_xdf`).
    preload : bool
        Load the data into memory (XDF recordings are always loaded).
    %(verbose)s
    **reader_kwargs
        Passed to the format's reader (e.g. ``stream=`` for XDF, ``stim_channel=`` for EDF).

    Returns
    -------
    raw : instance of Raw
        The recording.

    Raises
    ------
    FileNotFoundError
        ``fname`` does not exist.
    DyadIOError
        The file is empty, holds fewer than 2 samples, cannot be read, or is truncated: an
        EDF/BDF file with fewer or more data records than its header announces, a
        BrainVision data file that ends inside a sample, before its header's
        ``DataPoints`` or before a marker of its marker file (MNE only warns, or reads what
        is there). Poly5 and XDF files raise their subclasses :class:`Poly5Error` and
        :class:`XDFError`.

    Examples
    --------
    >>> raw, truth = hs.simulate_dyad(duration=4.0, sfreq=100.0, seed=0)
    >>> fname = hs.io.write_poly5("A.Poly5", raw.participant("A").pick(["Fz", "Cz"]))
    >>> hs.io.read_recording(fname).ch_names      # any format, one call
    ['Fz', 'Cz']
    """
    _validate_type(fname, "path-like", "fname")
    fname = Path(fname)
    if not fname.exists():
        raise FileNotFoundError(f"Recording not found: {fname}")
    if fname.is_file() and fname.stat().st_size == 0:
        raise DyadIOError(f"Recording {fname} is an empty file.")
    try:
        _check_complete(fname)
        if fname.suffix.lower() == ".poly5":
            from .poly5 import read_raw_poly5

            raw = read_raw_poly5(fname, preload=preload, **reader_kwargs)
        elif _is_xdf(fname):
            from .xdf import read_raw_xdf

            raw = read_raw_xdf(fname, **reader_kwargs)
        else:
            raw = mne.io.read_raw(fname, preload=preload, verbose=False, **reader_kwargs)
    except (DyadIOError, FileNotFoundError):
        raise
    except Exception as err:
        raise DyadIOError(
            f"Cannot read the recording {fname}: {type(err).__name__}: {err}. Check that the "
            "file is complete and in a format MNE reads (reader options go in "
            "reader_kwargs=)."
        ) from err
    if raw.n_times < 2:
        raise DyadIOError(f"Recording {fname} holds {raw.n_times} sample(s).")
    return raw
