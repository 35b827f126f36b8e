"""The result of a surrogate test: :class:`SurrogateResult`, and the tails of its tests."""

from __future__ import annotations

import numpy as np

from .._utils import (
    _check_option,
    _validate_type,
    as_table,
    check_correction,
)
from ..base import BaseResult
from ..sync.measures import is_signed, phase_relation
from .inference import TAILS, fdr_bh, maxstat_p, p_value, standardize, zscore

CORRECTIONS = ("fdr", "maxstat", None)


# ------------------------------------------------------------------------------ result
def resolve_tails(tail, measures, signed=False):
    """``{measure: tail}``: ``'auto'`` is two-sided for signed measures, greater otherwise."""
    if isinstance(tail, dict):
        missing = [m for m in measures if m not in tail]
        if missing:
            raise ValueError(f"tail has no entry for measure(s) {missing}.")
        out = {m: tail[m] for m in measures}
    else:
        _validate_type(tail, str, "tail")
        out = {m: tail for m in measures}
    for m, t in out.items():
        if t == "auto":
            out[m] = "two-sided" if is_signed(m, signed) else "greater"
        else:
            _check_option("tail", t, TAILS + ("auto",))
    return out


class SurrogateResult(BaseResult):
    r"""Observed synchrony against a surrogate null.

    The shared result interface (``labels``, ``params``, ``get_data``, ``to_table``,
    ``to_dict``/``from_dict``) is that of :class:`hyperinsync.base.BaseResult`;
    :meth:`from_dict` recomputes the statistics from the stored values. Each parameter is
    kept as the attribute of the same name (``tail`` resolved per measure).

    Parameters
    ----------
    observed : ndarray, shape (n_measures, n_bands, n_rows, n_cols)
        Observed values; for ``'pseudo_dyads'`` one per real dyad,
        ``(n_dyads, n_measures, n_bands, n_rows, n_cols)``.
    null : ndarray, shape (n_surrogates, n_measures, n_bands, n_rows, n_cols)
        Surrogate values.
    measures : list of str
        The measure axis.
    bands : dict
        ``{name: (fmin, fmax)}`` in Hz: the band axis.
    rows, cols : list of str
        The pairs' axes: channels (``'role:channel'``) or ROI labels.
    level : 'channel' | 'roi'
        Whether ``rows``/``cols`` are channels or ROIs.
    correction : 'fdr' | 'maxstat' | None
        The multiple-comparison correction of ``p`` (see ``p_corrected``).
    tail : 'auto' | 'greater' | 'less' | 'two-sided' | dict
        The alternative of the tests, as in :func:`hyperinsync.surrogate_test` (``'auto'``:
        ``'two-sided'`` for signed measures, ``'greater'`` for magnitudes).
    phase : ndarray | None
        Mean phase difference A - B of each observed pair in radians (angle of the summed
        unit-phasor cross products over the valid epochs; for ROI pairs over their channel
        pairs), shape of ``observed`` without the measure axis. Near 0 in-phase, near
        :math:`\pm\pi` anti-phase; meaningful where the coupling is significant.
    params : dict | None
        The null model and how it was drawn: ``null``, ``n_surrogates``, ``seed``,
        ``n_times`` / ``n_epochs`` used, channels dropped, pairs, lags, ``signed`` ...
    group : dict | None
        ``'pseudo_dyads'`` only: real dyads vs pseudo-dyads per measure, band and pair,
        ``diff`` (mean real - mean pseudo), ``p`` (permutation), ``d`` (Cohen's d),
        ``p_corrected`` (Benjamini-Hochberg over measures, bands and pairs).

    Attributes
    ----------
    null_mean, null_sd : ndarray
        Mean and SD (``ddof=1``) of the null per measure, band and pair.
    z, effect : ndarray
        :math:`(obs - \bar{null}) / SD(null)` (:func:`hyperinsync.stats.zscore`);
        ``effect`` is the same number, the SUSY-style surrogate effect size. Its sign is the
        direction of the effect: for signed measures (``envcorr``; ``ccorr`` and ``imcoh``
        with ``signed=True``) positive is a positive relation, negative a negative one.
    tail : dict
        The alternative of each measure's test: ``'greater'`` (synchrony above chance; the
        default for magnitudes: PLV, coh, wPLI, HyPyP's absolute ccorr and imcoh),
        ``'two-sided'`` (the default for signed measures: a negative envelope correlation is
        coupling too) or ``'less'``.
    p : ndarray
        Surrogate p-value, :math:`(b + 1)/(N + 1)` (:func:`hyperinsync.stats.p_value` with the
        measure's ``tail``).
    p_corrected : ndarray | None
        ``'fdr'``: Benjamini-Hochberg over all measures, bands and pairs (per dyad for
        pseudo-dyads); ``'maxstat'``: the maximum statistic over the same family, each test
        first standardised against its own null (max-z, :func:`hyperinsync.stats.maxstat_p`)
        so pairs with a higher chance level do not dominate; ``None``: not corrected.
    labels : dict
        ``{'dyad': [...]}`` (pseudo-dyads only), ``'measure'``, ``'band'``, ``'row'``,
        ``'col'``: the axes of ``observed``.
    """

    _FIELDS = (
        "observed",
        "null",
        "measures",
        "bands",
        "rows",
        "cols",
        "level",
        "correction",
        "tail",
        "params",
        "phase",
        "group",
    )
    _OPTIONAL = ("phase", "group")
    # the kinds of values get_data returns (all shaped like `observed`, but `null` and `phase`)
    KINDS = ("observed", "null", "null_mean", "null_sd", "z", "effect", "p", "p_corrected", "phase")

    def __init__(
        self,
        observed,
        null,
        *,
        measures,
        bands,
        rows,
        cols,
        level="channel",
        correction="fdr",
        tail="auto",
        phase=None,
        params=None,
        group=None,
    ):
        correction = check_correction(correction, CORRECTIONS)
        self.observed = np.asarray(observed, float)
        self.null = np.asarray(null, float)
        self.measures = list(measures)
        self.bands = {k: tuple(float(e) for e in v) for k, v in dict(bands).items()}
        self.rows, self.cols = list(rows), list(cols)
        self.level = level
        self.correction = correction
        self.params = dict(params or {})
        self.tail = resolve_tails(tail, self.measures, self.params.get("signed", False))
        self.phase = None if phase is None else np.asarray(phase, float)
        self.null_mean = self.null.mean(axis=0)
        # one observed value per dyad (pseudo-dyads): each is compared with the same null
        per_dyad = self.observed.ndim == self.null.ndim
        null = self.null[:, None] if per_dyad else self.null
        if len(self.null) > 1:
            self.null_sd = self.null.std(axis=0, ddof=1)
            self.z = zscore(self.observed, null)
        else:  # one surrogate has no spread
            self.null_sd = np.full_like(self.null_mean, np.nan)
            self.z = np.full(np.broadcast(self.observed, self.null_mean).shape, np.nan)
        self.effect = self.z
        self.p = np.empty(np.broadcast_shapes(self.observed.shape, self.null.shape[1:]))
        for mi, m in enumerate(self.measures):
            self.p[..., mi, :, :, :] = p_value(
                self.observed[..., mi, :, :, :], null[:, ..., mi, :, :, :], tail=self.tail[m]
            )
        self.p_corrected = self._correct()
        self.group = group

    def _correct(self):
        if self.correction is None:
            return None
        obs = self.observed if self.observed.ndim == 5 else self.observed[None]
        p = self.p if self.p.ndim == 5 else self.p[None]
        out = np.empty(obs.shape)
        for d in range(len(obs)):
            # one family per dyad: every measure, band and pair
            if self.correction == "fdr":
                out[d] = fdr_bh(p[d])[1]
                continue
            # max statistic: each test standardised against its own null (with the tail of
            # its measure), so the family can mix measures, bands and chance levels
            std = [
                standardize(obs[d, mi], self.null[:, mi], tail=self.tail[m], method="z")
                for mi, m in enumerate(self.measures)
            ]
            out[d] = maxstat_p(
                np.stack([o for o, _ in std]),
                np.stack([n for _, n in std], axis=1),
                standardize=None,
            )
        return out if self.observed.ndim == 5 else out[0]

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
        n_obs = "" if self.observed.ndim == 4 else f"{self.observed.shape[0]} dyads, "
        return (
            f"<SurrogateResult | {self.params.get('null')} | {n_obs}{len(self.null)} "
            f"surrogates | {', '.join(self.measures)} | {', '.join(self.bands)} | "
            f"{len(self.rows)} x {len(self.cols)} {self.level} pairs>"
        )

    @property
    def labels(self):
        """The axes of ``observed``: ``{'measure', 'band', 'row', 'col'}``.

        Pseudo-dyads: ``'dyad'`` first.
        """
        out = {}
        if self.observed.ndim == 5:
            out["dyad"] = list(self.params.get("dyads") or range(len(self.observed)))
        out.update(
            measure=list(self.measures),
            band=list(self.bands),
            row=list(self.rows),
            col=list(self.cols),
        )
        return out

    def get_data(self, measure=None, band=None, *, kind="observed"):
        """Return values of one measure and band as an array.

        Parameters
        ----------
        measure, band : str | None
            Which measure and band (None when the result holds only one; ``measure`` is
            ignored for ``kind='phase'``, which has no measure axis).
        kind : str
            ``'observed'``, ``'null'`` (one matrix per surrogate), ``'null_mean'``,
            ``'null_sd'``, ``'z'``, ``'effect'``, ``'p'``, ``'p_corrected'`` or ``'phase'``
            (see the attributes).

        Returns
        -------
        values : ndarray, shape (n_rows, n_cols)
            With a leading surrogate axis for ``'null'``, and a leading dyad axis for the
            per-dyad kinds of pseudo-dyad results (``observed``, ``z``, ``effect``, ``p``,
            ``p_corrected``, ``phase``).
        """
        self._kind(kind, self.KINDS)
        bi = self._pick("band", band)
        if kind == "phase":
            if self.phase is None:
                raise ValueError("This result has no phase (computed without it).")
            return self.phase[..., bi, :, :]
        mi = self._pick("measure", measure)
        values = getattr(self, kind)
        if values is None:
            raise ValueError("This result is not corrected (correction=None): no p_corrected.")
        return values[..., mi, bi, :, :]

    def to_table(self):
        """Tidy table: one row per (dyad,) measure, band and pair.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``measure, band, row, col, observed, null_mean, null_sd, z, effect, tail,
            p, p_corrected, direction`` and, when the phase is known, ``phase_diff`` and
            ``phase`` (and ``dyad`` for pseudo-dyad results; then also the group-level
            ``group_diff, group_p, group_d`` per pair). ``direction`` is the sign of the
            effect: ``'positive'``/``'negative'`` for signed measures (the relation's sign;
            for signed imcoh positive means the row leads in phase), ``'above chance'`` /
            ``'below chance'`` for magnitudes. ``phase_diff`` is the mean phase difference
            row - col in radians and ``phase`` names it: ``'in-phase'``, ``'anti-phase'``
            or ``'lagged'`` (:func:`hyperinsync.sync.measures.phase_relation`).
        """
        obs = self.observed if self.observed.ndim == 5 else self.observed[None]
        dyads = self.params.get("dyads") or list(range(len(obs)))
        p_corr = self.p_corrected
        phase = (
            None
            if self.phase is None
            else (self.phase if self.phase.ndim == 4 else self.phase[None])
        )
        signed = self.params.get("signed", False)
        rows_out = []
        for di in range(len(obs)):
            for mi, m in enumerate(self.measures):
                labels = (
                    ("positive", "negative")
                    if is_signed(m, signed)
                    else ("above chance", "below chance")
                )
                for bi, b in enumerate(self.bands):
                    for i, rn in enumerate(self.rows):
                        for j, cn in enumerate(self.cols):
                            idx = (mi, bi, i, j)
                            full = (di,) + idx if self.observed.ndim == 5 else idx
                            row = dict(measure=m, band=b, row=rn, col=cn)
                            if self.observed.ndim == 5:
                                row = dict(dyad=dyads[di], **row)
                            z = float(self.z[full])
                            row.update(
                                observed=float(self.observed[full]),
                                null_mean=float(self.null_mean[idx]),
                                null_sd=float(self.null_sd[idx]),
                                z=z,
                                effect=float(self.effect[full]),
                                tail=self.tail[m],
                                p=float(self.p[full]),
                                p_corrected=None if p_corr is None else float(p_corr[full]),
                                direction=(labels[0] if z > 0 else labels[1] if z < 0 else "none"),
                            )
                            if phase is not None:
                                ph = float(phase[di, bi, i, j])
                                row.update(phase_diff=ph, phase=phase_relation(ph))
                            if self.group is not None:
                                row.update(
                                    group_diff=float(self.group["diff"][idx]),
                                    group_p=float(self.group["p"][idx]),
                                    group_d=float(self.group["d"][idx]),
                                )
                            rows_out.append(row)
        return as_table(rows_out)

    def to_dict(self):
        """Return plain arrays and JSON-able attributes (see :meth:`from_dict`).

        Returns
        -------
        d : dict
            The fields (the statistics are recomputed from them by :meth:`from_dict`).
        """
        out = super().to_dict()
        out["tail"] = dict(self.tail)
        if self.group is not None:
            out["group"] = {
                k: (np.asarray(v) if k in ("diff", "p", "d", "p_corrected") else v)
                for k, v in self.group.items()
            }
        return out
