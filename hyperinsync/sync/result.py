"""The result container of :func:`hyperinsync.compute_sync`: :class:`SyncResult`."""

from __future__ import annotations

import numpy as np

from .._utils import (
    _check_option,
    as_table,
)
from ..base import BaseResult


class SyncResult(BaseResult):
    """Synchrony values between channels (and ROIs) of a dyad.

    Built by :func:`compute_sync`; do not construct directly except from :meth:`from_dict`.
    The shared result interface (``labels``, ``params``, ``get_data``, ``to_table``,
    ``to_dict``/``from_dict``) is that of :class:`hyperinsync.base.BaseResult`. Each
    parameter is kept as the attribute of the same name.

    Parameters
    ----------
    data : ndarray, shape (n_measures, n_bands, n_rows, n_cols)
        Summary values: the mean over epochs (``'within'``) or over time points
        (``'across'``).
    measures : list of str
        The measures, in the order of the first axis.
    bands : dict
        ``{name: (fmin, fmax)}``: the nominal band edges in Hz, in the order of the second
        axis.
    rows, cols : list of str
        Dyad channel names (``'<role>:<channel>'``) of the first and the second role.
    roles : tuple of str
        The two roles.
    convention : 'within' | 'across'
        Synchrony over time within each epoch, or over epochs at each time point.
    method : str
        How the band analytic signals were made (``'fft'``, ``'mne_fir'``, ``'morlet'``).
    epoch_data : ndarray, shape (n_measures, n_bands, n_epochs, n_rows, n_cols) | None
        Per-epoch values (``'within'`` convention).
    time_data : ndarray, shape (n_measures, n_bands, n_times, n_rows, n_cols) | None
        Per-time-point values (``'across'`` convention).
    times : ndarray, shape (n_times,) | None
        Time in seconds within the epoch of each time point (``'across'`` convention).
    epoch_onsets : ndarray, shape (n_epochs,) | None
        Onset of each epoch in seconds.
    rois : dict | None
        ``{'rows': {label: [row names]}, 'cols': {label: [col names]}}``: the regions of
        interest the ROI-level values average over.
    params : dict | None
        Every parameter of the analysis. ``params['effective_band']`` holds the -6 dB edges
        actually analysed (with the filter transitions in ``params['trans_bandwidth']``),
        ``params['flat_channels']`` the channels left out as flat.

    Attributes
    ----------
    labels : dict
        ``{'measure': [...], 'band': [...], 'row': [...], 'col': [...]}``: the axes of
        ``data``.
    """

    _FIELDS = (
        "data",
        "measures",
        "bands",
        "rows",
        "cols",
        "roles",
        "convention",
        "method",
        "rois",
        "params",
        "epoch_data",
        "time_data",
        "times",
        "epoch_onsets",
    )
    _OPTIONAL = ("epoch_data", "time_data", "times", "epoch_onsets")

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
        """Return the one-line summary that ``repr()`` shows."""
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

    @property
    def labels(self):
        """``{'measure', 'band', 'row', 'col'}``: the names along the axes of ``data``."""
        return dict(
            measure=list(self.measures),
            band=list(self.bands),
            row=list(self.rows),
            col=list(self.cols),
        )

    def _index(self, measure, band):
        return self._pick("measure", measure), self._pick("band", band)

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
        out = np.empty(vals.shape[:-2] + (len(self.rois["rows"]), len(self.rois["cols"])), float)
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
        table : pandas.DataFrame
            One row per measure, band and pair (columns above).
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
        return as_table(rows_out, ["measure", "band", "row", "col", "value"])

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
        con : SpectralConnectivity | EpochSpectralConnectivity | SpectroTemporalConnectivity
            The values in mne-connectivity's container of their ``kind`` (mean, per
            epoch, per time point).
        """
        import mne_connectivity as mc

        mi = self._pick("measure", measure)
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
