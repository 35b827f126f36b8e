"""Motion Energy Analysis (MEA) text files: one dyad per file, one column per person.

MEA (Ramseyer & Tschacher) counts the pixels that change between video frames inside each
person's region of interest; the files rMEA reads are plain text, a header row (e.g.
``"pat" "th"``) and one row per frame, typically at 25 Hz, 10-50 min. Several columns of one
person (several regions: head, body) are summed, as rMEA's ``readMEA`` does.
"""

from __future__ import annotations

import datetime as _dt

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import _validate_type, logger, verbose, warn
from ..dyad import DEFAULT_ROLES, check_roles, make_dyad_raw, set_dyad_meta
from .errors import PhysioIOError
from .physio import annotate_nan


def _columns(spec, n_cols, fname, who):
    cols = [spec] if isinstance(spec, (int, np.integer)) else list(spec)
    for c in cols:
        _validate_type(c, "int", f"column of {who}")
        if not 0 <= c < n_cols:
            raise PhysioIOError(
                f"{fname}: column {c} of {who} does not exist (the file has "
                f"{n_cols} columns, numbered from 0)."
            )
    return cols


@verbose
@fill_doc
def read_mea(
    fname,
    *,
    sfreq=25.0,
    roles=DEFAULT_ROLES,
    columns=(0, 1),
    ch_name="MEA",
    header="auto",
    delimiter=None,
    meas_date=None,
    verbose=None,
):
    """Read a motion energy (MEA) file into a dyad.

    Parameters
    ----------
    fname : path-like
        The text file: optional header row, then one row per video frame.
    sfreq : float
        The frame rate (MEA files do not store it; 25 Hz is the PAL video rate).
    roles : tuple of str
        The roles of the people in ``columns``, in that order (rMEA's s1, s2).
    columns : tuple
        The column (or list of columns, summed) of each person, numbered from 0.
    ch_name : str
        The channel name, the same for both people (``'<role>:MEA'``).
    header : 'auto' | bool
        Whether the first row is a header; ``'auto'``: when it is not all numbers.
    delimiter : str | None
        Column separator; ``None``: any whitespace, or commas / semicolons / tabs when the
        first data row holds them.
    meas_date : datetime | None
        When the video started (MEA files do not say).
    %(verbose)s

    Returns
    -------
    dyad : DyadRaw
        Channels ``'<role>:<ch_name>'`` of type ``misc`` (motion energy, arbitrary units).
        Empty or ``NA`` cells are NaN under ``BAD_missing`` annotations, never zeros.
        Values above 10 SD of the two series are warned about (rMEA's check) but kept: mark
        them with :func:`hyperinsync.preprocessing.movement.mea_artifacts`.
    """
    fname = str(fname)
    roles = check_roles(roles)
    _validate_type(sfreq, "numeric", "sfreq")
    if not sfreq > 0:
        raise ValueError(f"sfreq must be positive, got {sfreq}.")
    with open(fname, encoding="utf-8-sig") as fid:
        lines = [ln.strip() for ln in fid if ln.strip()]
    if not lines:
        raise PhysioIOError(f"{fname} is empty.")

    def split(line):
        if delimiter is not None:
            return [t.strip().strip("\"'") for t in line.split(delimiter)]
        for sep in (",", ";", "\t"):
            if sep in line:
                return [t.strip().strip("\"'") for t in line.split(sep)]
        return [t.strip("\"'") for t in line.split()]

    def numeric(tok):
        try:
            float(tok)
            return True
        except ValueError:
            return tok.upper() in ("NA", "NAN", "")

    first = split(lines[0])
    has_header = (not all(numeric(t) for t in first)) if header == "auto" else bool(header)
    rows = lines[1:] if has_header else lines
    names = first if has_header else None
    table = []
    for k, line in enumerate(rows):
        toks = split(line)
        try:
            table.append([np.nan if t.upper() in ("NA", "NAN", "") else float(t) for t in toks])
        except ValueError:
            raise PhysioIOError(
                f"{fname}: row {k + 1 + has_header} holds a non-number ({line[:60]!r}). "
                "Set header= or delimiter=."
            ) from None
    widths = {len(r) for r in table}
    if len(widths) != 1:
        raise PhysioIOError(
            f"{fname}: rows have {sorted(widths)} columns; every row must have the same number."
        )
    values = np.array(table, float)
    if values.shape[1] < 2:
        raise PhysioIOError(
            f"{fname}: one column only; an MEA file holds one column per person (check delimiter=)."
        )
    series = []
    for who, spec in zip(roles, columns):
        cols = _columns(spec, values.shape[1], fname, repr(who))
        # a missing region makes the person's sum missing (never a partial sum)
        series.append(values[:, cols].sum(axis=1))
    data = np.array(series)
    finite = data[np.isfinite(data)]
    if (finite < 0).any():
        raise PhysioIOError(
            f"{fname}: negative values ({finite.min():g}): motion energy is a "
            "count of changed pixels and cannot be negative. Check columns=."
        )
    sd = finite.std()
    if sd > 0 and (finite > 10 * sd).any():
        warn(
            f"{fname}: {100 * np.mean(finite > 10 * sd):.2f} % of the values are above 10 "
            "SD of the two series (video artefacts?); they are kept. Mark them with "
            "hyperinsync.preprocessing.movement.mea_artifacts."
        )
    raws = []
    for row in data:
        info = mne.create_info([ch_name], float(sfreq), "misc")
        raws.append(mne.io.RawArray(row[None], info, verbose=False))
    dyad = make_dyad_raw(raws[0], raws[1], roles=roles, verbose=False)
    if meas_date is not None:
        _validate_type(meas_date, _dt.datetime, "meas_date")
        dyad.set_meas_date(meas_date)
    n_missing = annotate_nan(dyad)
    set_dyad_meta(
        dyad,
        physio_source=dict(
            file=fname,
            kind="mea",
            sfreq=float(sfreq),
            header=names,
            columns=[list(np.atleast_1d(c)) for c in columns],
            n_missing_runs=n_missing,
            percent_moving={
                r: float(100 * np.mean(row[np.isfinite(row)] > 0)) for r, row in zip(roles, data)
            },
        ),
    )
    logger.info(
        f"{fname}: {values.shape[0]} frames ({values.shape[0] / sfreq:.1f} s) of "
        f"{roles[0]!r} and {roles[1]!r}."
    )
    return dyad
