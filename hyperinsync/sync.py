"""The synchrony engine: ``compute_sync`` and its result container ``SyncResult``."""

from __future__ import annotations

from math import gcd

from threadpoolctl import threadpool_limits

import mne
import numpy as np

from ._docs import fill_doc
from ._utils import (
    ProgressBar,
    _check_option,
    _validate_type,
    as_table,
    check_bands,
    check_n_jobs,
    logger,
    verbose,
    warn,
)
from .backend import get_backend, real_dtype
from .dyad import ROLE_SEP, get_roles, role_picks, split_ch_name
from .measures import CONVENTIONS, _xp, check_measures, compute_measure
from .rois import resolve_rois
from .spectral import (
    METHODS,
    _auto_decim,
    _check_decim,
    band_analytic,
    detrend_linear,
    mne_transition_bandwidths,
)

# channel types that carry brain signal; others (stim, misc, eog, ...) are never paired
DATA_TYPES = ("eeg", "mag", "grad", "seeg", "ecog", "dbs", "hbo", "hbr")


class SyncResult:
    """Synchrony values between channels (and ROIs) of a dyad.

    Built by :func:`compute_sync`; do not construct directly except from :meth:`from_dict`.

    Attributes
    ----------
    data : ndarray, shape (n_measures, n_bands, n_rows, n_cols)
        Summary values: the mean over epochs (``'within'``) or over time points
        (``'across'``).
    epoch_data : ndarray, shape (n_measures, n_bands, n_epochs, n_rows, n_cols) | None
        Per-epoch values (``'within'`` convention).
    time_data : ndarray, shape (n_measures, n_bands, n_times, n_rows, n_cols) | None
        Per-time-point values (``'across'`` convention).
    measures, bands, rows, cols, roles, convention, method, times, epoch_onsets, rois, params
        Names and parameters that describe the values. ``bands`` holds the nominal edges;
        ``params['effective_band']`` the -6 dB edges actually analysed (with the filter
        transitions in ``params['trans_bandwidth']``); ``params['flat_channels']`` the
        channels left out as flat.
    """

    def __init__(
        self,
        data,
        *,
        measures,
        bands,
        rows,
        cols,
        roles,
        convention,
        method,
        epoch_data=None,
        time_data=None,
        times=None,
        epoch_onsets=None,
        rois=None,
        params=None,
    ):
        self.data = np.asarray(data)
        self.epoch_data = None if epoch_data is None else np.asarray(epoch_data)
        self.time_data = None if time_data is None else np.asarray(time_data)
        self.measures = list(measures)
        self.bands = {k: tuple(float(e) for e in v) for k, v in dict(bands).items()}
        self.rows = list(rows)
        self.cols = list(cols)
        self.roles = tuple(roles)
        self.convention = convention
        self.method = method
        self.times = None if times is None else np.asarray(times, float)
        self.epoch_onsets = None if epoch_onsets is None else np.asarray(epoch_onsets)
        # {"rows": {label: [row names]}, "cols": {label: [col names]}}
        self.rois = rois
        self.params = dict(params or {})

    # -- access ------------------------------------------------------------------------
    def __repr__(self):
        kind = f"{len(self.rows)} x {len(self.cols)} channels"
        if self.rois:
            kind += f", {len(self.rois['rows'])} x {len(self.rois['cols'])} ROIs"
        n_ep = "" if self.epoch_onsets is None else f", {len(self.epoch_onsets)} epochs"
        return (
            f"<SyncResult | {', '.join(self.measures)} | {', '.join(self.bands)} | {kind}"
            f"{n_ep} | {self.convention} | {self.method}>"
        )

    @property
    def n_epochs(self):
        """Number of epochs the values were computed from."""
        return 0 if self.epoch_onsets is None else len(self.epoch_onsets)

    def _index(self, measure, band):
        mi = self._pick("measure", measure, self.measures)
        bi = self._pick("band", band, list(self.bands))
        return mi, bi

    @staticmethod
    def _pick(what, value, options):
        if value is None:
            if len(options) != 1:
                raise ValueError(
                    f"This result holds several {what}s ({options}): choose one with "
                    f"{what}=..."
                )
            return 0
        if value not in options:
            raise ValueError(f"{what} {value!r} is not in this result: {options}.")
        return options.index(value)

    def get_data(self, measure=None, band=None, *, level="channel", kind="mean"):
        """Return values as an array.

        Parameters
        ----------
        measure, band : str | None
            Which measure and band (None when the result holds only one).
        level : 'channel' | 'roi'
            Channel pairs or ROI pairs (mean over the channel pairs of two ROIs, excluding
            a channel paired with itself).
        kind : 'mean' | 'epochs' | 'times'
            The summary, per-epoch values (``'within'``) or per-time values (``'across'``).

        Returns
        -------
        values : ndarray
            ``(n_rows, n_cols)``, with a leading epochs or times axis for those kinds.
        """
        _check_option("level", level, ("channel", "roi"))
        _check_option("kind", kind, ("mean", "epochs", "times"))
        mi, bi = self._index(measure, band)
        src = {"mean": self.data, "epochs": self.epoch_data, "times": self.time_data}[kind]
        if src is None:
            raise ValueError(
                f"kind={kind!r} is not available for the {self.convention!r} convention: "
                "per-epoch values come with 'within', per-time values with 'across'."
            )
        vals = src[mi, bi]
        return self._roi_mean(vals) if level == "roi" else vals

    @property
    def roi_names(self):
        """``(row ROI labels, column ROI labels)``; empty when no ROIs were given."""
        if not self.rois:
            return [], []
        return list(self.rois["rows"]), list(self.rois["cols"])

    def _roi_mean(self, vals):
        if not self.rois:
            raise ValueError("This result has no ROIs: pass rois= to compute_sync.")
        rpos = {n: i for i, n in enumerate(self.rows)}
        cpos = {n: i for i, n in enumerate(self.cols)}
        out = np.empty(
            vals.shape[:-2] + (len(self.rois["rows"]), len(self.rois["cols"])), float
        )
        for i, rchs in enumerate(self.rois["rows"].values()):
            ri = np.array([rpos[c] for c in rchs])
            for j, cchs in enumerate(self.rois["cols"].values()):
                ci = np.array([cpos[c] for c in cchs])
                block = vals[..., ri[:, None], ci[None, :]]
                # a channel paired with itself says nothing about synchrony
                keep = np.array(rchs)[:, None] != np.array(cchs)[None, :]
                out[..., i, j] = block[..., keep].mean(axis=-1)
        return out

    def to_table(self, *, level="roi", kind="mean"):
        """Tidy table, one row per measure, band and pair (and epoch/time for those kinds).

        Columns ``measure, band, fmin_6db, fmax_6db, row, col, value`` (and ``epoch``,
        ``onset``): ``fmin_6db``/``fmax_6db`` are the band's effective -6 dB edges in Hz
        (``params['effective_band']``; the nominal edges are in ``bands``), absent for
        results saved before they were recorded.

        Parameters
        ----------
        level : 'channel' | 'roi'
            Channel pairs or ROI pairs.
        kind : 'mean' | 'epochs'
            Summary values or one row per epoch.

        Returns
        -------
        table : pandas.DataFrame | list of dict
            A DataFrame when pandas is installed, else a list of dicts.
        """
        _check_option("kind", kind, ("mean", "epochs"))
        rows_out = []
        edges = self.params.get("effective_band") or {}
        for measure in self.measures:
            for band in self.bands:
                head = dict(measure=measure, band=band)
                if band in edges:
                    head.update(fmin_6db=float(edges[band][0]), fmax_6db=float(edges[band][1]))
                vals = self.get_data(measure, band, level=level, kind=kind)
                if level == "roi":
                    rnames, cnames = self.roi_names
                else:
                    rnames, cnames = self.rows, self.cols
                if kind == "mean":
                    vals = vals[None]
                for e, mat in enumerate(vals):
                    for i, rn in enumerate(rnames):
                        for j, cn in enumerate(cnames):
                            row = dict(head, row=rn, col=cn)
                            if kind == "epochs":
                                row["epoch"] = e
                                row["onset"] = float(self.epoch_onsets[e])
                            row["value"] = float(mat[i, j])
                            rows_out.append(row)
        return as_table(rows_out)

    def to_connectivity(self, measure=None, *, kind="mean"):
        """Convert to an mne-connectivity container.

        The bands become the container's frequencies (their centres; band edges are in
        ``.attrs['bands']``) and the pairs its ``indices`` (rows as seeds, columns as targets).

        Parameters
        ----------
        measure : str | None
            The measure (None when the result holds one).
        kind : 'mean' | 'epochs' | 'times'
            ``SpectralConnectivity`` for the summary, ``EpochSpectralConnectivity`` per epoch,
            ``SpectroTemporalConnectivity`` per time point.

        Returns
        -------
        con : mne_connectivity.SpectralConnectivity | EpochSpectralConnectivity | SpectroTemporalConnectivity
        """
        import mne_connectivity as mc

        mi = self._pick("measure", measure, self.measures)
        names = list(dict.fromkeys(self.rows + self.cols))
        pos = {n: i for i, n in enumerate(names)}
        seeds = np.repeat([pos[r] for r in self.rows], len(self.cols))
        targets = np.tile([pos[c] for c in self.cols], len(self.rows))
        freqs = [float(np.mean(b)) for b in self.bands.values()]
        common = dict(
            freqs=freqs,
            n_nodes=len(names),
            names=names,
            indices=(seeds, targets),
            method=self.measures[mi],
            bands=[list(b) for b in self.bands.values()],
            band_names=list(self.bands),
            convention=self.convention,
            spectral_method=self.method,
        )
        n_con = len(self.rows) * len(self.cols)
        if kind == "mean":
            data = self.data[mi].reshape(len(self.bands), n_con).T
            return mc.SpectralConnectivity(data, n_epochs_used=self.n_epochs, **common)
        if kind == "epochs":
            if self.epoch_data is None:
                raise ValueError("Per-epoch values need the 'within' convention.")
            ep = self.epoch_data[mi]  # bands, epochs, rows, cols
            data = ep.reshape(ep.shape[0], ep.shape[1], n_con).transpose(1, 2, 0)
            return mc.EpochSpectralConnectivity(data, **common)
        _check_option("kind", kind, ("mean", "epochs", "times"))
        if self.time_data is None:
            raise ValueError("Per-time values need the 'across' convention.")
        td = self.time_data[mi]  # bands, times, rows, cols
        data = td.reshape(td.shape[0], td.shape[1], n_con).transpose(2, 0, 1)
        return mc.SpectroTemporalConnectivity(
            data, times=self.times, n_epochs_used=self.n_epochs, **common
        )

    # -- serialisation (used by the results file) ---------------------------------------
    def to_dict(self):
        """Plain arrays and JSON-able attributes (see :meth:`from_dict`)."""
        out = dict(
            data=self.data,
            measures=self.measures,
            bands={k: list(v) for k, v in self.bands.items()},
            rows=self.rows,
            cols=self.cols,
            roles=list(self.roles),
            convention=self.convention,
            method=self.method,
            rois=self.rois,
            params=self.params,
        )
        for key in ("epoch_data", "time_data", "times", "epoch_onsets"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, d):
        """Rebuild a result from :meth:`to_dict` output."""
        d = dict(d)
        return cls(d.pop("data"), **d)

    def __eq__(self, other):
        if not isinstance(other, SyncResult):
            return NotImplemented
        a, b = self.to_dict(), other.to_dict()
        if a.keys() != b.keys():
            return False
        for k in a:
            va, vb = a[k], b[k]
            if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                if not np.array_equal(np.asarray(va), np.asarray(vb), equal_nan=True):
                    return False
            elif va != vb:
                return False
        return True

    __hash__ = None


# --- the engine ---------------------------------------------------------------------------
def _data_picks(inst, picks):
    """Channel indices per role: good data channels, or the user's channel names."""
    roles = get_roles(inst)
    if len(roles) != 2:
        raise ValueError(
            f"A dyad needs channels of exactly two roles, found {len(roles)}: {roles}. "
            "Channel names must be '<role>:<channel>' (see hyperinsync.make_dyad_raw)."
        )
    types = inst.get_channel_types()
    bads = set(inst.info["bads"])
    if picks is None:
        ok = [
            i
            for i, (name, t) in enumerate(zip(inst.ch_names, types))
            if t in DATA_TYPES and name not in bads
        ]
    else:
        _validate_type(picks, (list, tuple), "picks")
        missing = [p for p in picks if p not in inst.ch_names]
        if missing:
            raise ValueError(f"picks name channels that are not in the data: {missing}.")
        ok = [inst.ch_names.index(p) for p in picks]
    out = []
    for role in roles:
        idx = [i for i in role_picks(inst, role) if i in set(ok)]
        if not idx:
            raise ValueError(
                f"Role {role!r} has no good data channels to analyse (channel types "
                f"{DATA_TYPES}, bads excluded). Check info['bads'] and the channel types."
            )
        out.append(np.array(idx, int))
    return roles, out


def _annotation_spans(raw, which):
    """Sample spans ``(on, off)`` of the annotations ``which`` selects, from the first sample."""
    ann = raw.annotations
    on = np.atleast_1d(
        raw.time_as_index(ann.onset[which], use_rounding=True, origin=ann.orig_time)
    )
    return on, on + np.round(np.atleast_1d(ann.duration[which]) * raw.info["sfreq"]).astype(int)


def _bad_spans(raw):
    """Sample spans ``(on, off)`` of the BAD_* annotations, from the first sample."""
    bad = np.array([d.lower().startswith("bad") for d in raw.annotations.description], bool)
    return _annotation_spans(raw, bad)


def _bad_mask(raw, n_times):
    """Boolean mask of the first ``n_times`` samples: True inside BAD_* annotations."""
    mask = np.zeros(n_times, bool)
    for on, off in zip(*_bad_spans(raw)):
        mask[max(on, 0) : max(off, 0)] = True
    return mask


def _window_starts(raw, n_len, n_step, reject_by_annotation):
    """Sample starts of fixed-length windows; those touching a BAD annotation are dropped."""
    n_times = raw.n_times
    starts = np.arange(0, n_times - n_len + 1, n_step)
    if not len(starts):
        raise ValueError(
            f"The recording ({n_times / raw.info['sfreq']:.2f} s) is shorter than one "
            f"epoch ({n_len / raw.info['sfreq']:.2f} s): use a shorter epoch_duration."
        )
    if reject_by_annotation:
        on, off = _bad_spans(raw)
        if len(on):
            ends = starts + n_len
            hit = (starts[:, None] < off[None, :]) & (ends[:, None] > on[None, :])
            starts = starts[~hit.any(axis=1)]
            if not len(starts):
                raise ValueError(
                    "Every epoch overlaps a BAD annotation: nothing is left to analyse."
                )
    return starts


def _check_finite(data, ch_names, rejected=None, *, sfreq=None):
    """Refuse NaN/inf in continuous data ``(n_channels, n_times)`` outside rejected samples.

    Samples flagged in ``rejected`` (inside BAD_ annotations whose epochs/windows are left
    out) are not checked: non-finite values there are replaced, in a copy, by the straight
    line between the finite samples around them, only so that the filter does not spread
    NaN over the whole channel. A line adds no offset, trend or step, and no analysed epoch
    or window overlaps those samples; their neighbours see what filtering across any BAD_
    span gives. Returns ``data`` itself when all is finite, else the filled copy.
    """
    ok = np.isfinite(data)
    if ok.all():
        return data
    outside = ~ok if rejected is None else ~ok & ~np.asarray(rejected, bool)[None, :]
    if outside.any():
        ci = int(np.flatnonzero(outside.any(axis=1))[0])
        ti = int(np.flatnonzero(outside[ci])[0])
        when = f"sample {ti}" + ("" if sfreq is None else f" ({ti / sfreq:.3f} s from the start)")
        raise ValueError(
            f"Channel {ch_names[ci]!r} contains NaN or infinite values at {when}, "
            f"{int(outside[ci].sum())} sample(s) outside any rejected BAD_ annotation: "
            "annotate the span as BAD_ (epochs and windows overlapping it are then left out "
            "with reject_by_annotation=True) or mark the channel bad (info['bads'])."
        )
    data = np.array(data, dtype=np.float64)
    idx = np.arange(data.shape[1])
    for ci in np.flatnonzero(~ok.all(axis=1)):
        good = ok[ci]
        if not good.any():
            raise ValueError(
                f"Channel {ch_names[ci]!r} has no finite value: mark it bad (info['bads'])."
            )
        data[ci, ~good] = np.interp(idx[~good], idx[good], data[ci, good])
    return data


def _flat_windows(data, starts, n_len):
    """``(n_channels, n_windows)``: True where a channel is constant over a window."""
    out = np.zeros((data.shape[0], len(starts)), bool)
    for ci, row in enumerate(data):
        change = row[1:] != row[:-1]
        if n_len < 2 or change.all():  # no two equal neighbours: nothing can be flat
            continue
        # number of sample-to-sample changes before each sample, one row at a time (memory)
        c = np.zeros(row.shape[0], np.int64)
        np.cumsum(change, out=c[1:])
        out[ci] = c[starts + n_len - 1] == c[starts]
    return out


def _flat_report(flat, ch_names, onsets, what, flat_out, *, continuous=True):
    """Act on a ``(n_channels, n_epochs)`` flatness table of the analysed epochs/windows.

    A channel constant in every one of them is excluded when ``flat_out`` (a list) collects
    it (compute_sync), else refused; a channel constant in only some of them is refused:
    its phase is undefined there, and a value of 0 would silently pull its averages down.
    """
    if not flat.size:
        return
    every = flat.all(axis=1)
    some = flat.any(axis=1) & ~every
    if some.any():
        ci = int(np.flatnonzero(some)[0])
        k = np.flatnonzero(flat[ci])
        raise ValueError(
            f"Channel {ch_names[ci]!r} is flat (constant) in {len(k)} of {flat.shape[1]} "
            f"{what}s (the first at {onsets[k[0]]:.3f} s): its phase is undefined there. "
            + ("Annotate those spans BAD_ (mne.preprocessing.annotate_amplitude finds flat "
               "spans)" if continuous else f"Drop those epochs ({k.tolist()[:10]})")
            + " or mark the channel bad (info['bads'])."
        )
    if every.any():
        names = [ch_names[i] for i in np.flatnonzero(every)]
        if flat_out is None:
            raise ValueError(
                f"Channel(s) {names} are flat (constant) over the analysed data: their phase "
                "is undefined. Mark them bad (info['bads']) before computing synchrony."
            )
        flat_out.extend(names)


def _refuse_flat(data, ch_names, rejected=None):
    """Refuse channels constant over all their samples outside ``rejected``."""
    keep = slice(None) if rejected is None else ~np.asarray(rejected, bool)
    part = data[:, keep]
    if not part.size:
        return
    flat = part.max(axis=1) == part.min(axis=1)
    if flat.any():
        raise ValueError(
            f"Channel(s) {[ch_names[i] for i in np.flatnonzero(flat)]} are flat (constant) "
            "outside the rejected spans: their phase is undefined. Mark them bad "
            "(info['bads']) before computing synchrony."
        )


def _check_epoch_data(data, ch_names, flat_out=None, onsets=None):
    """Finite, non-flat epochs ``(n_epochs, n_channels, n_times)``; names what is wrong."""
    if not data.shape[0]:
        raise ValueError(
            "The epochs object holds no epochs (all dropped?): nothing to compute synchrony on."
        )
    ok = np.isfinite(data)
    if not ok.all():
        bad = ~ok.all(axis=2)  # (E, C)
        ei, ci = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(
            f"Channel {ch_names[ci]!r} contains NaN or infinite values in epoch {ei} "
            f"({int(bad[:, ci].sum())} epoch(s) in all): drop those epochs (epochs.drop) or "
            "mark the channel bad (info['bads']) before computing synchrony."
        )
    flat = (data.max(axis=2) == data.min(axis=2)).T  # (C, E)
    onsets = np.arange(data.shape[0], dtype=float) if onsets is None else onsets
    _flat_report(flat, ch_names, onsets, "epoch", flat_out, continuous=False)


def _min_length_checks(bands, convention, n_len, sfreq, n_epochs, what="epoch"):
    """Refuse epoch lengths and counts that make the measures trivial; warn where inflated.

    Chance PLV of two independent signals is about 0.44 over 2 cycles of theta, 0.31 over
    4 and 0.22 over 8 (``'within'``); about ``sqrt(pi / (4 n))`` over ``n`` epochs
    (``'across'``): 0.63 for 2, 0.31 for 8.
    """
    if n_epochs == 0:
        raise ValueError(f"No {what}s to analyse.")
    if convention == "within":
        dur = n_len / sfreq
        for name, (fmin, _) in bands.items():
            cycles = dur * fmin
            if cycles < MIN_CYCLES:
                raise ValueError(
                    f"{what.capitalize()}s of {dur:.3g} s hold {cycles:.2g} cycle(s) of the "
                    f"lowest frequency of band {name!r} ({fmin:g} Hz): within an {what} "
                    "the phase difference of any two band signals then barely changes, so "
                    f"PLV tends to 1 whatever the data. Use {what}s of at least "
                    f"{MIN_CYCLES} cycles ({MIN_CYCLES / fmin:.3g} s for this band; "
                    f"{WARN_CYCLES / fmin:.3g} s or more is better)."
                )
            if cycles < WARN_CYCLES:
                warn(
                    f"{what.capitalize()}s of {dur:.3g} s hold only {cycles:.2g} cycles of "
                    f"the lowest frequency of band {name!r} ({fmin:g} Hz): values are valid "
                    "but strongly inflated by the short window (chance PLV about 0.44 over "
                    "2 cycles of theta, 0.31 over 4); compare them with surrogates "
                    f"(hyperinsync.test_sync) or use {what}s of at least {WARN_CYCLES} cycles "
                    f"({WARN_CYCLES / fmin:.3g} s)."
                )
    else:
        if n_epochs < MIN_EPOCHS_ACROSS:
            raise ValueError(
                f"convention='across' averages over {what}s at each time point and needs at "
                f"least {MIN_EPOCHS_ACROSS}; got {n_epochs} (one epoch gives PLV = 1 "
                "whatever the data). Use more epochs or convention='within'."
            )
        if n_epochs < WARN_EPOCHS_ACROSS:
            warn(
                f"convention='across' over only {n_epochs} {what}s: values are valid but "
                f"strongly inflated (chance PLV about sqrt(pi / (4 n)) = "
                f"{np.sqrt(np.pi / (4 * n_epochs)):.2f}); compare them with surrogates or use "
                f"at least {WARN_EPOCHS_ACROSS} epochs."
            )


# Minimum cycles of a band's lowest frequency per epoch ('within') and epochs ('across'):
# below them the measures are trivial (PLV -> 1); below the WARN_ values, valid but inflated.
MIN_CYCLES, WARN_CYCLES = 2, 4
MIN_EPOCHS_ACROSS, WARN_EPOCHS_ACROSS = 2, 8


def _epoch_decims(bands, method, sfreq, decim, n_len, n_step, n_cycles, freq_step,
                  what="epoch", trans=("auto", "auto")):
    """Decimation per band that divides the epoch (or window) length and step.

    ``'auto'`` keeps at least 4 samples per cycle of each band's highest frequency, so that
    epochs start and end on retained samples (``'mne_fir'``: full rate).
    """
    if decim == "auto":
        div = gcd(n_len, n_step)
        return {
            b: _auto_decim(e, method, sfreq, n_cycles, freq_step, trans, divides=div)
            for b, e in bands.items()
        }
    decim = _check_decim(decim)
    if n_len % decim or n_step % decim:
        raise ValueError(
            f"decim={decim} must divide the {what} length ({n_len} samples) and step "
            f"({n_step} samples); use decim='auto' or other "
            f"{dict(epoch='epoch_duration/overlap', window='window/step')[what]} values."
        )
    return dict.fromkeys(bands, decim)


def _trans(kw):
    return (kw.get("l_trans_bandwidth", "auto"), kw.get("h_trans_bandwidth", "auto"))


def _continuous_signals(
    inst, picks_all, bands, method, decim, n_len, n_step, starts, kw, common_decim=False,
    *, reject_by_annotation=True, flat=None,
):
    """Band signals of a Raw, computed on the continuous recording then cut into epochs.

    ``common_decim`` puts every band on one time grid (needed to average across epochs per
    time point). With ``reject_by_annotation``, samples inside BAD_ annotations are not
    checked for NaN (they are filled for the filter, see :func:`_check_finite`) and windows
    overlapping them are not checked for flatness: the caller leaves those windows out.
    Channels constant in every other window go to the list ``flat`` when given (their
    signals are still returned, for the caller to drop), else they are refused.
    """
    sfreq = inst.info["sfreq"]
    decims = _epoch_decims(
        bands, method, sfreq, decim, n_len, n_step, kw["n_cycles"], kw["freq_step"],
        trans=_trans(kw),
    )
    if common_decim and decim == "auto":
        decims = dict.fromkeys(bands, min(decims.values()))
    rejected = _bad_mask(inst, inst.n_times) if reject_by_annotation else None
    checked = starts
    if rejected is not None and rejected.any():
        csum = np.concatenate([[0], np.cumsum(rejected)])
        checked = starts[csum[starts + n_len] == csum[starts]]
    # Channels are read in groups so a lazily loaded recording is never copied whole; a
    # group is larger than one FFT chunk because every read of a FIF file touches all
    # channels' buffers. Data go to single precision at once when that is what is computed,
    # after the line is removed in double precision (a 200 mV offset in float32 would round
    # the EEG on it to 1e-3 of its size).
    rdtype = np.float32 if kw["precision"] == "single" else np.float64
    per_ch = inst.n_times * 8
    chunk = int(max(1, min(len(picks_all), 2 * kw["max_bytes"] // per_ch)))
    out = {b: [] for b in bands}
    meta = {}
    starts_ch = range(0, len(picks_all), chunk)
    # a bar only where there is progress to show (several channel groups)
    for c0 in ProgressBar(starts_ch, mesg="Band signals") if len(starts_ch) > 1 else starts_ch:
        picks = picks_all[c0 : c0 + chunk]
        names = [inst.ch_names[i] for i in picks]
        data = _check_finite(inst.get_data(picks=picks), names, rejected, sfreq=sfreq)
        _flat_report(_flat_windows(data, checked, n_len), names, inst.times[checked],
                     "epoch", flat)
        data = detrend_linear(data, dtype=rdtype)
        # one forward FFT per channel serves every band (the line is already gone)
        sigs = band_analytic(data, sfreq, bands, method=method, decim=decims, detrend=False,
                             **kw)
        del data
        for b, sig in sigs.items():
            out[b].append(sig.data)
            meta[b] = sig
    bk = get_backend(kw["backend"])
    xp = bk.xp
    res = {}
    for b, parts in out.items():
        z = xp.concatenate(parts, axis=0)  # (n_ch, F, T_dec)
        del parts[:]
        q = decims[b]
        idx = (starts // q)[:, None] + np.arange(n_len // q)[None, :]
        # (n_ch, F, E, L) -> (E, F, n_ch, L)
        res[b] = (z[:, :, xp.asarray(idx)].transpose(2, 1, 0, 3), meta[b])
        del z
    return res


def _fill_values(signals, bands, measures, convention, pairs, n_a, n_epochs, summary,
                 per_epoch, per_time, per_pair, max_bytes, bk):
    """Compute every measure and band into ``summary`` and the per-epoch/per-time arrays."""
    n_rows, n_cols = summary.shape[2:]
    for bi, b in enumerate(bands):
        z = signals[b][0]
        za = z[:, :, :n_a] if pairs == "inter" else z
        zb = z[:, :, n_a:] if pairs == "inter" else z
        n_f, t_n = z.shape[1], z.shape[-1]
        for mi, m in enumerate(measures):
            if convention == "within":
                step = max(1, int(max_bytes // (per_pair * n_f * max(1, t_n // 64))))
                for e0 in range(0, n_epochs, step):
                    v = compute_measure(m, za[e0 : e0 + step], zb[e0 : e0 + step], "within")
                    per_epoch[mi, bi, e0 : e0 + step] = bk.to_numpy(v.mean(axis=1))
                summary[mi, bi] = per_epoch[mi, bi].mean(axis=0)
            else:
                step = max(1, int(max_bytes // (per_pair * n_f * max(1, n_epochs // 64))))
                vt = np.empty((t_n, n_rows, n_cols))
                for t0 in range(0, t_n, step):
                    v = compute_measure(
                        m, za[..., t0 : t0 + step], zb[..., t0 : t0 + step], "across"
                    )
                    vt[t0 : t0 + step] = bk.to_numpy(v.mean(axis=0))
                per_time[(mi, bi)] = vt
                summary[mi, bi] = vt.mean(axis=0)


def _drop_flat(flat, names, picks_all, n_a, signals, rois, roles):
    """Leave channels flat in every analysed epoch out of the signals, with a warning."""
    keep = np.array([n not in flat for n in names])
    n_a_new = int(keep[:n_a].sum())
    for side, (lo, hi) in zip(roles, ((0, n_a), (n_a, len(names)))):
        if not keep[lo:hi].any():
            raise ValueError(
                f"Every channel of {side!r} is flat (constant): no signal to analyse."
            )
    msg = (
        f"Channel(s) {flat} are flat (constant) over the analysed data: their phase is "
        "undefined, so they are left out of the results"
    )
    if rois is not None:
        msg += " and of every ROI average"
    warn(msg + " (result.params['flat_channels']). Mark them bad (info['bads']) to "
         "silence this warning.")
    idx = np.flatnonzero(keep)
    out = {b: (z[:, :, _xp(z).asarray(idx)], meta) for b, (z, meta) in signals.items()}
    return picks_all[keep], n_a_new, [names[i] for i in idx], out


@verbose
@fill_doc
def compute_sync(
    inst,
    bands=None,
    measures="plv",
    *,
    method="fft",
    convention="within",
    pairs="inter",
    rois=None,
    epoch_duration=2.0,
    overlap=0.0,
    reject_by_annotation=True,
    picks=None,
    decim="auto",
    n_cycles=7.0,
    freq_step=1.0,
    precision="single",
    backend="auto",
    n_jobs=1,
    max_bytes=256e6,
    l_trans_bandwidth="auto",
    h_trans_bandwidth="auto",
    verbose=None,
):
    """Compute inter-brain (and intra-brain) synchrony of a dyad.

    The data are not modified. Band signals are computed from a copy without each channel's
    least-squares line (per channel of a Raw, per channel and epoch of Epochs), so offsets
    and linear drifts -- raw DC-coupled amplifier data carry hundreds of millivolts of them
    -- change no value (see :mod:`hyperinsync.spectral`).

    Degenerate inputs are refused with an error that says what to do: no epochs; epochs
    shorter than 2 cycles of a band's lowest frequency (``'within'``: PLV would tend to 1
    whatever the data; under 4 cycles a warning says the values are inflated);
    fewer than 2 epochs for ``'across'`` (under 8, a warning); NaN or infinite values
    outside rejected ``BAD_`` spans (naming the channel and time; inside them the samples
    are not used and are bridged by a straight line for the filter only); a channel flat
    (constant) in some of the epochs. A channel flat in every analysed epoch is left out of
    the rows/columns and of every ROI average, with a warning naming it (and
    ``params['flat_channels']``): its phase is undefined, and a PLV of 0 would silently pull
    its ROI down.

    Parameters
    ----------
    inst : DyadRaw | DyadEpochs | mne.io.BaseRaw | mne.BaseEpochs
        A dyad: any MNE object whose channel names are ``'<role>:<channel>'``. A Raw is
        transformed as one continuous recording (no epoch-edge effects) and then cut into
        fixed-length epochs; Epochs are transformed one by one with padding.
    %(bands)s
    measures : str | list of str
        Any of ``'plv'``, ``'coh'``, ``'imcoh'``, ``'wpli'``, ``'ccorr'``, ``'envcorr'``
        (formulas in :mod:`hyperinsync.measures`).
    method : 'fft' | 'mne_fir' | 'morlet'
        How band analytic signals are made (see :func:`hyperinsync.spectral.band_analytic`).
        ``'mne_fir'`` on Epochs with ``convention='within'`` reproduces HyPyP's
        ``compute_freq_bands`` + ``compute_sync`` exactly, at the default arguments
        (``decim='auto'`` means full rate for it; to float32 rounding with the default
        ``precision='single'``, at most 3.4e-7 on HyPyP's test dyad, to 1e-15 with
        ``'double'``). With
        ``convention='across'`` on Epochs, ``'mne_fir'`` leaves out each epoch's first and
        last sample: MNE's odd-reflection padding forces the band signal's real part to 0
        there, so their phase is +-90 degrees whatever the data.
    convention : 'within' | 'across'
        ``'within'``: each measure over the time points of an epoch, then averaged over
        epochs (hyperscanning convention, HyPyP); per-epoch values are kept.
        ``'across'``: over epochs at each time point (Lachaux's trial PLV; mne-connectivity's
        ``spectral_connectivity_epochs``), then averaged over time; per-time values are kept.
        With ``'morlet'``, values are computed per wavelet frequency and then averaged over
        the band's frequencies (mne-connectivity's ``faverage``).
    pairs : 'inter' | 'all'
        ``'inter'``: rows are the first person's channels, columns the second's.
        ``'all'``: rows and columns are all channels of both (intra- and inter-brain).
    %(rois)s
    epoch_duration : float
        Epoch length in seconds when ``inst`` is a Raw.
    overlap : float
        Overlap of consecutive epochs in seconds when ``inst`` is a Raw.
    reject_by_annotation : bool
        Drop epochs of a Raw that overlap ``BAD_*`` annotations (for both people). Samples
        inside them are then not used; NaN there (e.g. a gap) is allowed.
    picks : list of str | None
        Channel names (role-prefixed) to use; None: good data channels of both.
    decim : int | 'auto'
        Keep every ``decim``-th sample of the analytic signals (exact subsampling).
        ``'auto'`` keeps at least 4 samples per cycle of the band's highest frequency; with
        ``method='mne_fir'`` it means 1 (every sample), so that values equal HyPyP's.
    n_cycles, freq_step : float
        Morlet cycles and frequency spacing (``method='morlet'``).
    precision : 'single' | 'double'
        complex64 (default) or complex128 arithmetic.
    %(backend)s
    %(n_jobs)s
    max_bytes : float
        Approximate memory bound for one chunk of work.
    l_trans_bandwidth, h_trans_bandwidth : float | 'auto'
        Widths in Hz of the lower and upper transition bands of the filter methods
        (``'fft'``, ``'mne_fir'``), as in :func:`mne.filter.filter_data`. ``'auto'`` is MNE's
        default (and HyPyP's): ``min(max(fmin / 4, 2), fmin)`` and
        ``min(max(fmax / 4, 2), sfreq / 2 - fmax)``. The gain is 1/2 (-6 dB) half-way
        through each transition, so with the defaults theta 4-8 Hz passes 3-9 Hz and
        overlaps alpha (8-13 Hz passes 7-14.6 Hz): a 9 Hz alpha peak shows in theta at half
        amplitude. Narrower transitions separate adjacent bands better at the cost of
        longer filters (more edge samples, more ringing). The -6 dB band of every band and
        method is in ``result.params['effective_band']`` and in :meth:`SyncResult.to_table`.
    %(verbose)s

    Returns
    -------
    result : SyncResult
        Values per measure, band and pair, with per-epoch (or per-time) values, ROI access
        and conversions to tables and mne-connectivity containers.
    """
    _validate_type(inst, (mne.io.BaseRaw, mne.BaseEpochs), "inst")
    _check_option("method", method, METHODS)
    _check_option("convention", convention, CONVENTIONS)
    _check_option("pairs", pairs, ("inter", "all"))
    measures = check_measures(measures)
    sfreq = inst.info["sfreq"]
    bands = check_bands(bands, sfreq)
    n_jobs = check_n_jobs(n_jobs)
    bk = get_backend(backend)
    roles, (pa, pb) = _data_picks(inst, picks)
    picks_all = np.concatenate([pa, pb])
    n_a = len(pa)
    trans = (l_trans_bandwidth, h_trans_bandwidth)
    for band in bands.values():  # invalid widths fail here, before any data is read
        mne_transition_bandwidths(band[0], band[1], sfreq, *trans)
    kw = dict(
        n_cycles=n_cycles,
        freq_step=freq_step,
        precision=precision,
        backend=bk,
        n_jobs=n_jobs,
        max_bytes=max_bytes,
        l_trans_bandwidth=l_trans_bandwidth,
        h_trans_bandwidth=h_trans_bandwidth,
    )
    names = [inst.ch_names[i] for i in picks_all]
    flat = []
    t_skip = 0  # decimated samples left out at the start of each epoch (see 'mne_fir')

    if isinstance(inst, mne.io.BaseRaw):
        n_len = int(round(epoch_duration * sfreq))
        n_step = n_len - int(round(overlap * sfreq))
        if n_len < 2 or not 0 < n_step <= n_len:
            raise ValueError(
                f"epoch_duration={epoch_duration} s and overlap={overlap} s give epochs of "
                f"{n_len} samples every {n_step} samples: need overlap < epoch_duration."
            )
        starts = _window_starts(inst, n_len, n_step, reject_by_annotation)
        _min_length_checks(bands, convention, n_len, sfreq, len(starts))
        onsets = inst.times[starts]
        signals = _continuous_signals(
            inst, picks_all, bands, method, decim, n_len, n_step, starts, kw,
            common_decim=convention == "across", reject_by_annotation=reject_by_annotation,
            flat=flat,
        )
        times = np.arange(n_len) / sfreq
    else:
        onsets = inst.events[:, 0] / sfreq
        _min_length_checks(bands, convention, len(inst.times), sfreq, len(onsets))
        data = inst.get_data(picks=picks_all)
        _check_epoch_data(data, names, flat, onsets)
        dec = decim
        if convention == "across" and decim == "auto":
            # averaging over epochs per time point needs one time grid for every band
            dec = min(
                _auto_decim(e, method, sfreq, n_cycles, freq_step, trans)
                for e in bands.values()
            )
        sig = band_analytic(data, sfreq, bands, method=method, decim=dec, **kw)
        del data
        # (E, n, F, T) -> (E, F, n, T)
        signals = {b: (s.data.transpose(0, 2, 1, 3), s) for b, s in sig.items()}
        times = inst.times
        if method == "mne_fir" and convention == "across":
            # MNE pads each epoch by odd reflection about its end samples, which pins the
            # band signal's real part to 0 there (phase +-90 deg whatever the data, wPLI
            # and ccorr of rounding noise): those time points are left out
            q = next(iter(signals.values()))[1].decim
            last = (len(times) - 1) % q == 0
            signals = {b: (z[..., 1 : z.shape[-1] - last], m) for b, (z, m) in signals.items()}
            t_skip = 1
    n_epochs = len(onsets)
    if flat:
        picks_all, n_a, names, signals = _drop_flat(flat, names, picks_all, n_a, signals,
                                                    rois, roles)
    logger.info(
        f"Synchrony: {', '.join(measures)} in {', '.join(bands)} ({method}, {convention}) "
        f"for {n_a} x {len(picks_all) - n_a} channels over {n_epochs} epochs"
    )

    if pairs == "inter":
        rows, cols = names[:n_a], names[n_a:]
    else:
        rows = cols = names
    summary = np.empty((len(measures), len(bands), len(rows), len(cols)))
    per_epoch = per_time = None
    if convention == "within":
        # per-epoch values keep the precision they were computed in (they dominate storage)
        per_epoch = np.empty(
            (len(measures), len(bands), n_epochs) + summary.shape[2:], dtype=real_dtype(precision)
        )
    else:
        per_time = {}
    per_pair = 4 * (len(rows) * len(cols) + (len(rows) + len(cols)) * 64)
    # Many small batched products: BLAS threads only add synchronisation there (measured
    # 2x slower end to end with 2 threads on 2 cores), so the products run on one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        _fill_values(signals, bands, measures, convention, pairs, n_a, n_epochs, summary,
                     per_epoch, per_time, per_pair, max_bytes, bk)
    time_axis = None
    if convention == "across":
        # bands may be decimated differently: keep the time axis of the first band's grid
        # when they agree, otherwise resample nothing and report per band via params
        lengths = {per_time[(0, bi)].shape[0] for bi in range(len(bands))}
        if len(lengths) != 1:
            raise ValueError(
                "With convention='across' every band needs the same time grid: pass an "
                "explicit decim (e.g. decim=1) instead of 'auto'."
            )
        per_time_arr = np.stack(
            [
                np.stack([per_time[(mi, bi)] for bi in range(len(bands))])
                for mi in range(len(measures))
            ]
        )
        q = signals[next(iter(bands))][1].decim
        time_axis = np.asarray(times)[::q][t_skip : t_skip + per_time_arr.shape[2]]
        per_time = per_time_arr
    roi_spec = _roi_spec(rois, rows, cols, roles, pairs)
    params = dict(
        sfreq=sfreq,
        n_cycles=np.asarray(n_cycles, float).tolist(),
        freq_step=freq_step,
        precision=precision,
        backend=bk.name,
        decim={b: signals[b][1].decim for b in bands},
        freqs={b: signals[b][1].freqs.tolist() for b in bands},
        pairs=pairs,
        input="raw" if isinstance(inst, mne.io.BaseRaw) else "epochs",
        epoch_duration=float(len(times) / sfreq),
        overlap=float(overlap) if isinstance(inst, mne.io.BaseRaw) else 0.0,
        # the -6 dB band actually analysed, and the filter transitions that give it
        effective_band={b: list(signals[b][1].params["effective_band"]) for b in bands},
        trans_bandwidth={
            b: (None if signals[b][1].params["trans_bandwidth"] is None
                else list(signals[b][1].params["trans_bandwidth"]))
            for b in bands
        },
        detrend="linear",
        flat_channels=list(flat),
    )
    return SyncResult(
        summary,
        measures=measures,
        bands=bands,
        rows=rows,
        cols=cols,
        roles=roles,
        convention=convention,
        method=method,
        epoch_data=per_epoch,
        time_data=per_time,
        times=time_axis,
        epoch_onsets=np.asarray(onsets, float),
        rois=roi_spec,
        params=params,
    )


def _roi_spec(rois, rows, cols, roles, pairs):
    """Resolve ROIs per role into row and column groups of channel names."""
    if rois is None:
        return None

    def groups(names):
        out = {}
        for role in roles:
            plain = [split_ch_name(n)[1] for n in names if split_ch_name(n)[0] == role]
            if not plain:
                continue
            for label, chs in resolve_rois(rois, plain).items():
                key = label if pairs == "inter" else f"{role}{ROLE_SEP}{label}"
                out[key] = [f"{role}{ROLE_SEP}{c}" for c in chs]
        return out

    return {"rows": groups(rows), "cols": groups(cols)}
