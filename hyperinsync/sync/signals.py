"""The signal layer: :class:`DyadSignals` and its checks.

Picks, ``BAD_`` spans, finite and flat data (the checks: ``hyperinsync.sync.checks``),
decimation (each person's ROIs: ``hyperinsync.rois.role_rois``).

Every analysis of a dyad -- :func:`hyperinsync.compute_sync`, the surrogate tests, In-Sync
Levels 1 and 2 -- makes its band signals through :class:`DyadSignals`, with one set of
options (names, order and defaults in :data:`hyperinsync._docs.SIGNAL_OPTIONS`).
"""

from __future__ import annotations

from math import gcd

import mne
import numpy as np

from .._docs import SIGNAL_OPTIONS, fill_doc
from .._utils import (
    ProgressBar,
    _check_option,
    _validate_type,
    annotation_samples,
    check_bands,
    check_n_jobs,
)
from ..backend import CPU_MAX_BYTES, get_backend, gpu_step
from ..dyad import get_roles, role_picks
from ..rois import roi_spec, role_rois  # noqa: F401  (moved to hyperinsync.rois; kept importable)
from .bands import METHODS, mne_transition_bandwidths
from .checks import (
    _flat_report,
    _flat_windows,
    check_epoch_data,
    check_finite,
    refuse_flat,
)
from .spectral import (
    _auto_decim,
    _check_decim,
    band_analytic,
    detrend_linear,
)

# channel types that carry brain signal; others (stim, misc, eog, ...) are never paired
DATA_TYPES = ("eeg", "mag", "grad", "seeg", "ecog", "dbs", "hbo", "hbr")


def data_picks(inst, picks):
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


def annotation_spans(raw, which):
    """Sample spans ``(on, off)`` of the annotations ``which`` selects, from the first sample."""
    ann = raw.annotations
    on = annotation_samples(raw, ann.onset[which])
    return on, on + np.round(np.atleast_1d(ann.duration[which]) * raw.info["sfreq"]).astype(int)


def bad_spans(raw):
    """Sample spans ``(on, off)`` of the BAD_* annotations, from the first sample."""
    bad = np.array([d.lower().startswith("bad") for d in raw.annotations.description], bool)
    return annotation_spans(raw, bad)


def bad_mask(raw, n_times):
    """Boolean mask of the first ``n_times`` samples: True inside BAD_* annotations."""
    mask = np.zeros(n_times, bool)
    for on, off in zip(*bad_spans(raw)):
        mask[max(on, 0) : max(off, 0)] = True
    return mask


def window_starts(raw, n_len, n_step, reject_by_annotation):
    """Sample starts of fixed-length windows; those touching a BAD annotation are dropped."""
    n_times = raw.n_times
    starts = np.arange(0, n_times - n_len + 1, n_step)
    if not len(starts):
        raise ValueError(
            f"The recording ({n_times / raw.info['sfreq']:.2f} s) is shorter than one "
            f"epoch ({n_len / raw.info['sfreq']:.2f} s): use a shorter epoch_duration."
        )
    if reject_by_annotation:
        on, off = bad_spans(raw)
        if len(on):
            ends = starts + n_len
            hit = (starts[:, None] < off[None, :]) & (ends[:, None] > on[None, :])
            starts = starts[~hit.any(axis=1)]
            if not len(starts):
                raise ValueError(
                    "Every epoch overlaps a BAD annotation: nothing is left to analyse."
                )
    return starts


def epoch_decims(
    bands,
    method,
    sfreq,
    decim,
    n_len,
    n_step,
    n_cycles,
    freq_step,
    what="epoch",
    trans=("auto", "auto"),
):
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


@fill_doc
class DyadSignals:
    """The band analytic signals of a dyad: the one signal layer every analysis builds on.

    Holds a recording and the signal options, checked once; :func:`hyperinsync.compute_sync`,
    the surrogate tests (:mod:`hyperinsync.stats.surrogates`) and In-Sync Levels 1 and 2
    (:mod:`hyperinsync.insync`) all make their band signals here, so the same options give
    the same signals whatever the analysis. It resolves the channels to analyse
    (:meth:`data_picks`), the samples inside ``BAD_`` annotations (:meth:`bad_mask`), the
    windows free of them (:meth:`window_starts`) and the decimation (:meth:`decims`); it
    reads channels in groups bounded by ``max_bytes`` (a lazily loaded recording is never
    copied whole), refuses NaN/inf outside rejected spans and flat channels (naming them),
    removes each channel's line in double precision and computes the band analytic signals
    (:meth:`continuous`, :meth:`epochs` for a Raw cut into epochs, :meth:`epoch_signals`
    for Epochs).

    Parameters
    ----------
    inst : DyadRaw | DyadEpochs | mne.io.BaseRaw | mne.BaseEpochs
        A dyad: channel names ``'<role>:<channel>'``.
    %(bands)s
    %(reject_by_annotation)s
    %(picks)s
    %(method)s
    %(decim)s
    %(n_cycles)s
    %(freq_step)s
    %(trans_bandwidth)s
    %(precision)s
    %(backend)s
    %(n_jobs)s
    %(max_bytes)s

    Examples
    --------
    >>> raw, truth = hs.simulate_dyad(duration=10.0, sfreq=100.0, seed=0)
    >>> signals = hs.sync.DyadSignals(raw, {"alpha": (8, 13)}, backend="numpy")
    >>> signals
    <DyadSignals | Raw | alpha | fft | decim=auto | single | numpy>
    >>> roles, picks = signals.data_picks()
    >>> z, band = signals.continuous(picks[0], {"alpha": 1})["alpha"]
    >>> roles, z.shape        # A's 32 channels x 1 frequency x 1000 samples
    (('A', 'B'), (32, 1, 1000))
    """

    def __init__(
        self,
        inst,
        bands=None,
        *,
        reject_by_annotation=True,
        picks=None,
        method="fft",
        decim="auto",
        n_cycles=7.0,
        freq_step=1.0,
        l_trans_bandwidth="auto",
        h_trans_bandwidth="auto",
        precision="single",
        backend="auto",
        n_jobs=1,
        max_bytes="auto",
    ):
        _validate_type(inst, (mne.io.BaseRaw, mne.BaseEpochs), "inst")
        _check_option("method", method, METHODS)
        _check_option("precision", precision, ("single", "double"))
        _validate_type(reject_by_annotation, bool, "reject_by_annotation")
        if decim != "auto":
            _check_decim(decim)
        self.inst = inst
        self.sfreq = float(inst.info["sfreq"])
        self.bands = check_bands(bands, self.sfreq)
        self.is_raw = isinstance(inst, mne.io.BaseRaw)
        self.reject = reject_by_annotation
        self.picks = picks
        self.method, self.decim = method, decim
        self.n_cycles, self.freq_step = n_cycles, freq_step
        self.trans = (l_trans_bandwidth, h_trans_bandwidth)
        for band in self.bands.values():  # invalid widths fail here, before any data is read
            mne_transition_bandwidths(band[0], band[1], self.sfreq, *self.trans)
        self.precision = precision
        self.bk = get_backend(backend)
        self.n_jobs = check_n_jobs(n_jobs)
        # one chunk of device work; channel groups read from the recording (host memory)
        # keep the CPU bound unless the user set one
        self.max_bytes = self.bk.max_bytes(max_bytes)
        self.read_bytes = CPU_MAX_BYTES if isinstance(max_bytes, str) else self.max_bytes

    @classmethod
    def from_params(cls, inst, bands, params):
        """Return the signal layer of an analysis, its signal options read from ``params``.

        Parameters
        ----------
        inst : DyadRaw | DyadEpochs | mne.io.BaseRaw | mne.BaseEpochs
            The dyad.
        bands : dict | None
            The bands.
        params : dict
            The analysis's arguments by name (its ``locals()``), among them every signal
            option (:data:`hyperinsync._docs.SIGNAL_OPTIONS`): one place that forwards
            them, so an option added to DyadSignals cannot be forgotten by one analysis.

        Returns
        -------
        signals : DyadSignals
            ``DyadSignals(inst, bands, **options)``.
        """
        return cls(inst, bands, **{k: params[k] for k in SIGNAL_OPTIONS})

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
        kind = "Raw" if self.is_raw else "Epochs"
        return (
            f"<DyadSignals | {kind} | {', '.join(self.bands)} | {self.method} | "
            f"decim={self.decim} | {self.precision} | {self.bk.name}>"
        )

    @property
    def options(self):
        """The signal options, as keyword arguments (for :meth:`like` and ``params``)."""
        return dict(
            reject_by_annotation=self.reject,
            picks=self.picks,
            method=self.method,
            decim=self.decim,
            n_cycles=self.n_cycles,
            freq_step=self.freq_step,
            l_trans_bandwidth=self.trans[0],
            h_trans_bandwidth=self.trans[1],
            precision=self.precision,
            backend=self.bk,
            n_jobs=self.n_jobs,
            max_bytes=self.max_bytes,
        )

    def like(self, inst, **changes):
        """Return the same bands and options on another recording (another dyad, a surrogate).

        Parameters
        ----------
        inst : Raw | Epochs
            The other recording, a dyad with the same roles.
        **changes
            Options that differ (e.g. ``n_jobs=1`` in one of several threads).

        Returns
        -------
        signals : DyadSignals
            The signal layer of ``inst`` with these bands and options.
        """
        new = DyadSignals(inst, self.bands, **{**self.options, **changes})
        new.read_bytes = self.read_bytes
        return new

    @property
    def band_kwargs(self):
        """Keyword arguments of :func:`~hyperinsync.sync.band_analytic` for these options."""
        return dict(
            n_cycles=self.n_cycles,
            freq_step=self.freq_step,
            precision=self.precision,
            backend=self.bk,
            n_jobs=self.n_jobs,
            max_bytes=self.max_bytes,
            l_trans_bandwidth=self.trans[0],
            h_trans_bandwidth=self.trans[1],
        )

    def data_picks(self):
        """Return the two roles and, per role, the indices of the channels to analyse.

        Returns
        -------
        roles : tuple of str
            The two roles.
        picks : list of ndarray
            Per role, its channels to analyse (``picks``, or the good data channels).
        """
        return data_picks(self.inst, self.picks)

    def bad_mask(self):
        """Mark the samples inside ``BAD_`` annotations of a Raw (all False without rejection).

        Returns
        -------
        mask : ndarray of bool, shape (n_times,)
            True inside ``BAD_`` annotations (all False if not ``reject_by_annotation``).
        """
        if not self.is_raw:
            raise TypeError("BAD_ samples are defined for continuous recordings (Raw).")
        if not self.reject:
            return np.zeros(self.inst.n_times, bool)
        return bad_mask(self.inst, self.inst.n_times)

    def window_starts(self, n_len, n_step, reject=None):
        """Return the starts of ``n_len``-sample windows every ``n_step`` (see window_starts).

        Parameters
        ----------
        n_len, n_step : int
            Window length and step in samples.
        reject : bool | None
            Leave out windows touching ``BAD_`` annotations (``None``: reject_by_annotation).

        Returns
        -------
        starts : ndarray of int
            The first sample of each window kept.
        """
        return window_starts(self.inst, n_len, n_step, self.reject if reject is None else reject)

    def decims(self, n_len, n_step, *, what="epoch", common=False):
        """Return the decimation per band that divides the epoch (window) length and step.

        Parameters
        ----------
        n_len, n_step : int
            Epoch (window) length and step in samples.
        what : 'epoch' | 'window'
            What ``n_len`` and ``n_step`` measure (for the error message).
        common : bool
            One factor for all bands (``decim='auto'``: the smallest): one time grid.

        Returns
        -------
        decims : dict
            ``{band: decimation factor}``.
        """
        decims = epoch_decims(
            self.bands,
            self.method,
            self.sfreq,
            self.decim,
            n_len,
            n_step,
            self.n_cycles,
            self.freq_step,
            what=what,
            trans=self.trans,
        )
        if common and self.decim == "auto":
            decims = dict.fromkeys(self.bands, min(decims.values()))
        return decims

    def continuous(self, picks, decims, *, windows=None, flat=None):
        """Make the band signals of channels of a continuous recording.

        With ``reject_by_annotation``, samples inside ``BAD_`` annotations are not checked for
        NaN (they are bridged for the filter, see ``check_finite``).

        Parameters
        ----------
        %(signal_picks)s
        decims : dict
            ``{band: decimation factor}`` (see :meth:`decims`).
        windows : tuple | None
            ``(starts, n_len)``: a channel constant in some of these windows (those free of
            ``BAD_`` spans) is refused. ``None``: one constant over all its samples outside
            ``BAD_`` spans is refused.
        flat : list | None
            Collects the names of channels constant in all the windows (else refused).

        Returns
        -------
        signals : dict
            ``{band: (z, BandSignal)}``, ``z`` of shape ``(n_channels, n_freqs,
            n_times_decimated)`` on the backend's device.
        """
        inst, sfreq = self.inst, self.sfreq
        picks = np.asarray(picks, int)
        rejected = bad_mask(inst, inst.n_times) if self.reject else None
        if windows is not None:
            starts, n_len = windows
            checked = starts
            if rejected is not None and rejected.any():
                csum = np.concatenate([[0], np.cumsum(rejected)])
                checked = starts[csum[starts + n_len] == csum[starts]]
        # Channels are read in groups so a lazily loaded recording is never copied whole; a
        # group is larger than one FFT chunk because every read of a FIF file touches all
        # channels' buffers. Data go to single precision at once when that is what is
        # computed, after the line is removed in double precision (a 200 mV offset in
        # float32 would round the EEG on it to 1e-3 of its size).
        rdtype = np.float32 if self.precision == "single" else np.float64
        per_ch = inst.n_times * 8
        chunk = int(max(1, min(len(picks), 2 * self.read_bytes // per_ch)))
        out = {b: [] for b in self.bands}
        meta = {}
        starts_ch = range(0, len(picks), chunk)
        # a bar only where there is progress to show (several channel groups)
        groups = ProgressBar(starts_ch, mesg="Band signals") if len(starts_ch) > 1 else starts_ch
        for c0 in groups:
            part = picks[c0 : c0 + chunk]
            names = [inst.ch_names[i] for i in part]
            data = check_finite(_read_rows(inst, part), names, rejected, sfreq=sfreq)
            if windows is None:
                refuse_flat(data, names, rejected)
            else:
                _flat_report(
                    _flat_windows(data, checked, n_len), names, inst.times[checked], "epoch", flat
                )
            data = detrend_linear(data, dtype=rdtype)
            # one forward FFT per channel serves every band (the line is already gone)
            with gpu_step("band signals"):
                sigs = band_analytic(
                    data,
                    sfreq,
                    self.bands,
                    method=self.method,
                    decim=decims,
                    detrend=False,
                    **self.band_kwargs,
                )
            del data
            for b, sig in sigs.items():
                out[b].append(sig.data)
                meta[b] = sig
        xp = self.bk.xp
        res = {}
        for b, parts in out.items():
            res[b] = (parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=0), meta[b])
            del parts[:]
        return res

    def epochs(self, picks, n_len, n_step, starts, *, common_decim=False, flat=None):
        """Make the band signals of a Raw on the continuous recording, then cut into epochs.

        Parameters
        ----------
        %(signal_picks)s
        n_len, n_step : int
            Epoch length and step in samples (decimated as :meth:`decims`).
        starts : ndarray of int
            The first sample of each epoch.
        %(common_decim)s
        flat : list | None
            As in :meth:`continuous`, with the epochs as the windows.

        Returns
        -------
        signals : dict
            ``{band: (z, BandSignal)}``, ``z`` of shape ``(n_epochs, n_freqs, n_channels,
            n_samples)`` on the backend's device.
        """
        decims = self.decims(n_len, n_step, common=common_decim)
        cont = self.continuous(picks, decims, windows=(starts, n_len), flat=flat)
        res = {
            b: (cut_epochs(z, epoch_index(starts, n_len, decims[b], self.bk.xp)), meta)
            for b, (z, meta) in cont.items()
        }
        del cont
        return res

    def epoch_signals(self, picks, *, common_decim=False, flat=None, onsets=None):
        """Make the band signals of Epochs, each epoch transformed on its own with padding.

        Parameters
        ----------
        %(signal_picks)s
        %(common_decim)s
        flat : list | None
            Collects the names of channels flat in all epochs (else refused; flat in some
            epochs, or NaN/inf: refused, naming the channel and epoch).
        onsets : ndarray | None
            Onset of each epoch in seconds, to name them in messages (``None``: indices).

        Returns
        -------
        signals : dict
            ``{band: (z, BandSignal)}``, ``z`` of shape ``(n_epochs, n_freqs, n_channels,
            n_times_decimated)`` on the backend's device.
        """
        data = self.epoch_data(picks, flat=flat, onsets=onsets)
        return self.epoch_band_signals(data, common_decim=common_decim)

    def epoch_data(self, picks, *, flat=None, onsets=None):
        """Read the data of Epochs and check them (the first half of :meth:`epoch_signals`).

        Parameters
        ----------
        %(signal_picks)s
        flat : list | None
            As in :meth:`epoch_signals`.
        onsets : ndarray | None
            As in :meth:`epoch_signals`.

        Returns
        -------
        data : ndarray, shape (n_epochs, n_channels, n_times)
            The epochs' data, finite and with no channel flat in only some epochs.
        """
        picks = np.asarray(picks, int)
        data = self.inst.get_data(picks=picks)
        check_epoch_data(data, [self.inst.ch_names[i] for i in picks], flat, onsets)
        return data

    def epoch_band_signals(self, data, *, common_decim=False, work=None, time_major=False):
        """Make the band signals of epochs' data (the second half of :meth:`epoch_signals`).

        Parameters
        ----------
        data : ndarray, shape (n_epochs, n_channels, n_times)
            Data of some or all of the epochs (:meth:`epoch_data`); each epoch is transformed
            on its own, so the signals of a chunk of epochs are those of the whole.
        %(common_decim)s
        work : dict | None
            Scratch arrays for the signals (see :func:`~hyperinsync.sync.band_analytic`).
        time_major : bool
            Signals laid out in memory as (frequency, time, epoch, channel) (see
            :func:`~hyperinsync.sync.band_analytic`).

        Returns
        -------
        signals : dict
            As :meth:`epoch_signals`.
        """
        dec = self.decim
        if common_decim and dec == "auto":
            # averaging over epochs per time point needs one time grid for every band
            dec = min(
                _auto_decim(e, self.method, self.sfreq, self.n_cycles, self.freq_step, self.trans)
                for e in self.bands.values()
            )
        with gpu_step("band signals"):
            sig = band_analytic(
                data,
                self.sfreq,
                self.bands,
                method=self.method,
                decim=dec,
                work=work,
                time_major=time_major,
                **self.band_kwargs,
            )
        # (E, n, F, T) -> (E, F, n, T)
        return {b: (s.data.transpose(0, 2, 1, 3), s) for b, s in sig.items()}


def _read_rows(inst, rows):
    """Return the data of channels ``rows`` of a Raw, never to be written to.

    A view of a loaded recording's array when the rows are consecutive (what is computed
    from them is written elsewhere: copying a long recording's data only to read it cost
    a pass through memory), else a copy (:meth:`mne.io.Raw.get_data`).
    """
    data = getattr(inst, "_data", None) if getattr(inst, "preload", False) else None
    if isinstance(data, np.ndarray) and len(rows) and np.all(np.diff(rows) == 1):
        return data[rows[0] : rows[-1] + 1]
    return inst.get_data(picks=rows)


def epoch_index(starts, n_len, q, xp):
    """Return the sample index ``(E, L)`` of epochs of ``n_len`` samples at ``starts``.

    On a band's grid (decimation ``q``, which divides both), on the backend's device.
    """
    return xp.asarray((np.asarray(starts) // q)[:, None] + np.arange(n_len // q)[None, :])


def cut_epochs(z, index):
    """Cut continuous band signals ``(n_ch, F, T)`` into epochs ``(E, F, n_ch, L)`` at ``index``."""
    return z[..., index].transpose(2, 1, 0, 3)
