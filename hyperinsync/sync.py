"""The synchrony engine: ``compute_sync`` and its result container ``SyncResult``."""

from __future__ import annotations

from math import gcd

from threadpoolctl import threadpool_limits

import mne
import numpy as np

from ._utils import (
    ProgressBar,
    _check_option,
    _validate_type,
    as_table,
    check_bands,
    check_n_jobs,
    fill_doc,
    logger,
    verbose,
)
from .backend import get_backend, real_dtype
from .dyad import ROLE_SEP, get_roles, role_picks, split_ch_name
from .measures import CONVENTIONS, check_measures, compute_measure
from .rois import resolve_rois
from .spectral import METHODS, _check_decim, _top_frequency, band_analytic, choose_decim

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
        Names and parameters that describe the values.
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
        for measure in self.measures:
            for band in self.bands:
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
                            row = dict(measure=measure, band=band, row=rn, col=cn)
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


def _check_finite(data, ch_names):
    """Refuse NaN/inf in continuous data ``(n_channels, n_times)``, naming the channel."""
    if not np.all(np.isfinite(data)):
        bad = ch_names[int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0])]
        raise ValueError(
            f"Channel {bad!r} contains NaN or infinite values: mark it bad "
            "(info['bads']) or annotate the span as BAD_ before computing synchrony."
        )


def _epoch_decims(bands, method, sfreq, decim, n_len, n_step, n_cycles, freq_step,
                  what="epoch"):
    """Decimation per band that divides the epoch (or window) length and step.

    ``'auto'`` keeps at least 4 samples per cycle of each band's highest frequency, so that
    epochs start and end on retained samples.
    """
    if decim == "auto":
        div = gcd(n_len, n_step)
        return {
            b: choose_decim(
                sfreq, _top_frequency(e, method, sfreq, n_cycles, freq_step), divides=div
            )
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


def _continuous_signals(
    inst, picks_all, bands, method, decim, n_len, n_step, starts, kw, common_decim=False
):
    """Band signals of a Raw, computed on the continuous recording then cut into epochs.

    ``common_decim`` puts every band on one time grid (needed to average across epochs per
    time point).
    """
    sfreq = inst.info["sfreq"]
    decims = _epoch_decims(
        bands, method, sfreq, decim, n_len, n_step, kw["n_cycles"], kw["freq_step"]
    )
    if common_decim and decim == "auto":
        decims = dict.fromkeys(bands, min(decims.values()))
    # Channels are read in groups so a lazily loaded recording is never copied whole; a
    # group is larger than one FFT chunk because every read of a FIF file touches all
    # channels' buffers. Data go to single precision at once when that is what is computed.
    rdtype = np.float32 if kw["precision"] == "single" else np.float64
    per_ch = inst.n_times * 8
    chunk = int(max(1, min(len(picks_all), 2 * kw["max_bytes"] // per_ch)))
    out = {b: [] for b in bands}
    meta = {}
    starts_ch = range(0, len(picks_all), chunk)
    # a bar only where there is progress to show (several channel groups)
    for c0 in ProgressBar(starts_ch, mesg="Band signals") if len(starts_ch) > 1 else starts_ch:
        picks = picks_all[c0 : c0 + chunk]
        data = inst.get_data(picks=picks).astype(rdtype, copy=False)
        _check_finite(data, [inst.ch_names[i] for i in picks])
        # one forward FFT per channel serves every band
        sigs = band_analytic(data, sfreq, bands, method=method, decim=decims, **kw)
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
    verbose=None,
):
    """Compute inter-brain (and intra-brain) synchrony of a dyad.

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
        ``compute_freq_bands`` + ``compute_sync`` exactly.
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
        Drop epochs of a Raw that overlap ``BAD_*`` annotations (for both people).
    picks : list of str | None
        Channel names (role-prefixed) to use; None: good data channels of both.
    decim : int | 'auto'
        Keep every ``decim``-th sample of the analytic signals (exact subsampling).
        ``'auto'`` keeps at least 4 samples per cycle of the band's highest frequency.
    n_cycles, freq_step : float
        Morlet cycles and frequency spacing (``method='morlet'``).
    precision : 'single' | 'double'
        complex64 (default) or complex128 arithmetic.
    %(backend)s
    %(n_jobs)s
    max_bytes : float
        Approximate memory bound for one chunk of work.
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
    kw = dict(
        n_cycles=n_cycles,
        freq_step=freq_step,
        precision=precision,
        backend=bk,
        n_jobs=n_jobs,
        max_bytes=max_bytes,
    )

    if isinstance(inst, mne.io.BaseRaw):
        n_len = int(round(epoch_duration * sfreq))
        n_step = n_len - int(round(overlap * sfreq))
        if n_len < 2 or not 0 < n_step <= n_len:
            raise ValueError(
                f"epoch_duration={epoch_duration} s and overlap={overlap} s give epochs of "
                f"{n_len} samples every {n_step} samples: need overlap < epoch_duration."
            )
        starts = _window_starts(inst, n_len, n_step, reject_by_annotation)
        onsets = inst.times[starts]
        signals = _continuous_signals(
            inst, picks_all, bands, method, decim, n_len, n_step, starts, kw,
            common_decim=convention == "across",
        )
        times = np.arange(n_len) / sfreq
    else:
        data = inst.get_data(picks=picks_all)
        if not np.all(np.isfinite(data)):
            raise ValueError(
                "The epochs contain NaN or infinite values: drop those epochs or mark the "
                "channels bad before computing synchrony."
            )
        dec = decim
        if convention == "across" and decim == "auto":
            # averaging over epochs per time point needs one time grid for every band
            dec = min(
                choose_decim(sfreq, _top_frequency(e, method, sfreq, n_cycles, freq_step))
                for e in bands.values()
            )
        sig = band_analytic(data, sfreq, bands, method=method, decim=dec, **kw)
        # (E, n, F, T) -> (E, F, n, T)
        signals = {b: (s.data.transpose(0, 2, 1, 3), s) for b, s in sig.items()}
        onsets = inst.events[:, 0] / sfreq
        times = inst.times
    n_epochs = len(onsets)
    logger.info(
        f"Synchrony: {', '.join(measures)} in {', '.join(bands)} ({method}, {convention}) "
        f"for {len(pa)} x {len(pb)} channels over {n_epochs} epochs"
    )

    names = [inst.ch_names[i] for i in picks_all]
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
        time_axis = np.asarray(times)[::q][: per_time_arr.shape[2]]
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
