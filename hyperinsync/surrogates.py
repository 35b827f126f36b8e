r"""Null models for inter-brain synchrony: pseudo-dyads and surrogate pairings.

A synchrony value means nothing until it is compared with pairs of signals that never
interacted: PLV, for instance, is biased upward in short windows (about
:math:`\sqrt{\pi / (4 n)}` for :math:`n` independent samples). Every null here is built from
the *same* band signals, window length, bands and preprocessing as the observed value, so
the bias is the same on both sides.

Null models (``null=``), each reproducible with ``seed``:

``'pseudo_dyads'``
    Across a study: person A of dyad *i* with person B of dyad *j* (*i* != *j*). With
    ``keep_roles=True`` only first-role x second-role pairs (therapist *i* x client *j*);
    otherwise any two people of different dyads. All such pairs, or a random subset of
    ``n_surrogates``.
``'epoch_shuffle'``
    Within a dyad: A's epochs with B's epochs in a random order (uniform over all orders, so
    the observed pairing is exchangeable with the surrogates and the p-value is exact; an
    epoch may keep its partner, as in any permutation test).
``'circular_shift'``
    Within a dyad (continuous data): B's band signals circularly shifted by a random lag of
    at least ``min_shift`` seconds from either end.
``'segment_shuffle'``
    Within a dyad (continuous data): Ramseyer & Tschacher's (2010) pseudo-interactions for
    windowed measures: B's recording cut into segments of ``segment_duration`` seconds put in
    a random order (10 or more segments give a fine-grained null; with fewer than 4 no
    p-value can reach 0.05, which is warned about); windows stay inside segments.
``'phase_randomization'``
    Within a dyad (continuous data): Fourier phase randomisation of B (Theiler et al.,
    1992), the same random phases for all of B's channels (Prichard & Theiler, 1994), which
    keeps B's amplitude spectrum and cross-spectra and destroys any relation with A.

How it is fast: the band analytic signals of each person are computed once (exactly as
:func:`hyperinsync.compute_sync` computes them: one transform of the continuous recording,
then cut into epochs with its own helpers). Every pairing is then a batched product of
:mod:`hyperinsync.measures`: people (or epochs) are folded into the channel axis, so one
product yields all A_i x B_j (or all epoch k x epoch l) pairs of a band at once. Work is cut
into chunks whose intermediate arrays stay below about ``max_bytes`` (the same bound as
:func:`~hyperinsync.compute_sync`).
"""

from __future__ import annotations


import math

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
    check_seed,
    logger,
    verbose,
    warn,
)
from .backend import get_backend
from .dyad import ROLE_SEP, get_roles, split_ch_name
from .sync.bands import METHODS
from .sync.measures import check_measures, compute_measure, is_signed, phase_relation, unit
from .sync.result import SyncResult
from .sync.spectral import band_analytic
from .stats import TAILS, fdr_bh, maxstat_p, p_value, permutation_test, standardize, zscore
from .sync.signals import (
    bad_mask,
    check_epoch_data,
    continuous_signals,
    data_picks,
    roi_spec,
    window_starts,
)

NULLS = (
    "pseudo_dyads",
    "epoch_shuffle",
    "circular_shift",
    "segment_shuffle",
    "phase_randomization",
)
_CONTINUOUS_ONLY = ("circular_shift", "segment_shuffle", "phase_randomization")
CORRECTIONS = ("fdr", "maxstat", None)


# ------------------------------------------------------------------------------ result
def _resolve_tails(tail, measures, signed=False):
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


class SurrogateResult:
    r"""Observed synchrony against a surrogate null.

    Attributes
    ----------
    observed : ndarray, shape (n_measures, n_bands, n_rows, n_cols)
        Observed values; for ``'pseudo_dyads'`` one per real dyad,
        ``(n_dyads, n_measures, n_bands, n_rows, n_cols)``.
    null : ndarray, shape (n_surrogates, n_measures, n_bands, n_rows, n_cols)
        Surrogate values.
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
    phase : ndarray | None
        Mean phase difference A - B of each observed pair in radians (angle of the summed
        unit-phasor cross products over the valid epochs; for ROI pairs over their channel
        pairs), shape of ``observed`` without the measure axis. Near 0 in-phase, near
        :math:`\pm\pi` anti-phase; meaningful where the coupling is significant.
    group : dict | None
        ``'pseudo_dyads'`` only: real dyads vs pseudo-dyads per measure, band and pair,
        ``diff`` (mean real - mean pseudo), ``p`` (permutation), ``d`` (Cohen's d),
        ``p_corrected`` (Benjamini-Hochberg over measures, bands and pairs).
    measures, bands, rows, cols : list
        Names of the axes; ``rows``/``cols`` are channels (``'role:channel'``) or ROI labels.
    level : 'channel' | 'roi'
    params : dict
        The null model and how it was drawn: ``null``, ``n_surrogates``, ``seed``,
        ``n_times`` / ``n_epochs`` used, channels dropped, pairs, lags, ``signed`` ...
    """

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
        _check_option("correction", correction, CORRECTIONS)
        self.observed = np.asarray(observed, float)
        self.null = np.asarray(null, float)
        self.measures = list(measures)
        self.bands = {k: tuple(float(e) for e in v) for k, v in dict(bands).items()}
        self.rows, self.cols = list(rows), list(cols)
        self.level = level
        self.correction = correction
        self.params = dict(params or {})
        self.tail = _resolve_tails(tail, self.measures, self.params.get("signed", False))
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
            self.p[..., mi, :, :, :] = p_value(self.observed[..., mi, :, :, :],
                                               null[:, ..., mi, :, :, :], tail=self.tail[m])
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
            std = [standardize(obs[d, mi], self.null[:, mi], tail=self.tail[m], method="z")
                   for mi, m in enumerate(self.measures)]
            out[d] = maxstat_p(np.stack([o for o, _ in std]),
                               np.stack([n for _, n in std], axis=1), standardize=None)
        return out if self.observed.ndim == 5 else out[0]

    def __repr__(self):
        n_obs = "" if self.observed.ndim == 4 else f"{self.observed.shape[0]} dyads, "
        return (
            f"<SurrogateResult | {self.params.get('null')} | {n_obs}{len(self.null)} "
            f"surrogates | {', '.join(self.measures)} | {', '.join(self.bands)} | "
            f"{len(self.rows)} x {len(self.cols)} {self.level} pairs>"
        )

    def to_table(self):
        """Tidy table: one row per (dyad,) measure, band and pair.

        Returns
        -------
        table : pandas.DataFrame | list of dict
            Columns ``measure, band, row, col, observed, null_mean, null_sd, z, effect, tail,
            p, p_corrected, direction`` and, when the phase is known, ``phase_diff`` and
            ``phase`` (and ``dyad`` for pseudo-dyad results; then also the group-level
            ``group_diff, group_p, group_d`` per pair). ``direction`` is the sign of the
            effect: ``'positive'``/``'negative'`` for signed measures (the relation's sign;
            for signed imcoh positive means the row leads in phase), ``'above chance'`` /
            ``'below chance'`` for magnitudes. ``phase_diff`` is the mean phase difference
            row - col in radians and ``phase`` names it: ``'in-phase'``, ``'anti-phase'``
            or ``'lagged'`` (:func:`hyperinsync.measures.phase_relation`).
        """
        obs = self.observed if self.observed.ndim == 5 else self.observed[None]
        dyads = self.params.get("dyads") or list(range(len(obs)))
        p_corr = self.p_corrected
        phase = None if self.phase is None else (
            self.phase if self.phase.ndim == 4 else self.phase[None])
        signed = self.params.get("signed", False)
        rows_out = []
        for di in range(len(obs)):
            for mi, m in enumerate(self.measures):
                labels = (("positive", "negative") if is_signed(m, signed)
                          else ("above chance", "below chance"))
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
                                direction=(labels[0] if z > 0 else labels[1] if z < 0
                                           else "none"),
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
        """Plain arrays and JSON-able attributes (see :meth:`from_dict`)."""
        out = dict(
            observed=self.observed,
            null=self.null,
            measures=self.measures,
            bands={k: list(v) for k, v in self.bands.items()},
            rows=self.rows,
            cols=self.cols,
            level=self.level,
            correction=self.correction,
            tail=dict(self.tail),
            params=self.params,
        )
        if self.phase is not None:
            out["phase"] = self.phase
        if self.group is not None:
            out["group"] = {
                k: (np.asarray(v) if k in ("diff", "p", "d", "p_corrected") else v)
                for k, v in self.group.items()
            }
        return out

    @classmethod
    def from_dict(cls, d):
        """Rebuild a result from :meth:`to_dict` output (statistics are recomputed)."""
        d = dict(d)
        return cls(d.pop("observed"), d.pop("null"), **d)


# ------------------------------------------------------------------------------ inputs
def _check_n_surrogates(n_surrogates, allow_none=False):
    if n_surrogates is None and allow_none:
        return None
    _validate_type(n_surrogates, "int", "n_surrogates")
    if n_surrogates < 1:
        raise ValueError(
            f"n_surrogates must be at least 1, got {n_surrogates}; use e.g. 1000."
        )
    return int(n_surrogates)


def _role_order(insts, keep_roles):
    """Each dyad's two roles in one order, by name: the order of dyad 0's roles.

    Pseudo-dyads pair people by role *name* (the therapist of dyad *i* with the client of
    dyad *j*), whatever order a dyad's channels come in. With ``keep_roles`` every dyad must
    have the same two roles; otherwise a dyad with other role names keeps its own order.
    """
    ref = tuple(get_roles(insts[0]))
    order = []
    for d, inst in enumerate(insts):
        roles = tuple(get_roles(inst))
        if set(roles) == set(ref):
            order.append(ref)
        elif keep_roles:
            raise ValueError(
                f"Dyad {d} has roles {list(roles)}, but dyad 0 has {list(ref)}: with "
                "keep_roles=True pseudo-dyads pair people by role name, so every dyad needs "
                "the same two roles. Rename the roles (e.g. make_dyad_raw(..., roles=...)) "
                "or pass keep_roles=False to pair any two people of different dyads."
            )
        else:
            logger.info(f"Dyad {d} has roles {list(roles)} (dyad 0: {list(ref)}); with "
                        "keep_roles=False its people are paired in their own order.")
            order.append(roles)
    return order


def _plain_good_channels(inst, role):
    """Plain names of one person's good data channels."""
    roles, picks = data_picks(inst, None)
    return [split_ch_name(inst.ch_names[i])[1] for i in picks[roles.index(role)]]


def _common_channels(insts, keep_roles, order):
    """Plain channel names used for every person, and per-dyad logs of dropped ones.

    ``order[d]`` are dyad ``d``'s roles in the common order (see :func:`_role_order`).
    """
    per_person = []  # (dyad index, role position in the common order, role, [plain names])
    for d, inst in enumerate(insts):
        for r, role in enumerate(order[d]):
            per_person.append((d, r, role, _plain_good_channels(inst, role)))
    groups = [[0], [1]] if keep_roles else [[0, 1]]
    common = []
    for g in groups:
        sets = [names for _, r, _, names in per_person if r in g]
        keep = [c for c in sets[0] if all(c in s for s in sets[1:])]
        common.append(keep)
        for d, r, role, names in per_person:
            if r in g:
                dropped = [c for c in names if c not in keep]
                if dropped:
                    logger.info(
                        f"Dyad {d}, role {role!r}: channels {dropped} are not in every "
                        "recording and are left out."
                    )
        if len(keep) < 2:
            which = f" for role {order[0][g[0]]!r}" if keep_roles else ""
            raise ValueError(
                f"Only {len(keep)} good data channel(s) ({keep}) are common to all "
                f"{len(insts)} recordings{which}: pseudo-dyads need at least 2. Check "
                "info['bads'] and the channel names, or pass recordings with matching "
                "montages."
            )
    if not keep_roles:
        common = [common[0], common[0]]
    return common


def _person_picks(inst, role, plain):
    return np.array([inst.ch_names.index(f"{role}{ROLE_SEP}{c}") for c in plain], int)


def _crop_common(insts):
    """Cut every recording to the shortest one (samples for Raw, epochs for Epochs)."""
    sfreqs = {inst.info["sfreq"] for inst in insts}
    if len(sfreqs) != 1:
        raise ValueError(
            f"The recordings have different sampling rates {sorted(sfreqs)} Hz: resample "
            "them to one rate (inst.resample) before building pseudo-dyads."
        )
    if isinstance(insts[0], mne.io.BaseRaw):
        lengths = [inst.n_times for inst in insts]
        n = min(lengths)
        sfreq = insts[0].info["sfreq"]
        out = [
            inst if inst.n_times == n else inst.copy().crop(0, (n - 1) / sfreq)
            for inst in insts
        ]
        if len(set(lengths)) > 1:
            logger.info(
                f"Recordings of {min(lengths)}-{max(lengths)} samples cut to the common "
                f"length {n} samples ({n / sfreq:.2f} s)."
            )
        return out, dict(n_times=int(n), lengths=[int(x) for x in lengths])
    lengths = [len(inst) for inst in insts]
    n_times = {len(inst.times) for inst in insts}
    if len(n_times) != 1:
        raise ValueError(
            f"The epochs have different lengths {sorted(n_times)} samples: crop them to one "
            "tmin/tmax (epochs.crop) before building pseudo-dyads."
        )
    n = min(lengths)
    if len(set(lengths)) > 1:
        logger.info(f"Dyads of {min(lengths)}-{max(lengths)} epochs cut to the first {n}.")
    return [inst if len(inst) == n else inst[:n] for inst in insts], dict(
        n_epochs=int(n), lengths=[int(x) for x in lengths]
    )


class _Prepared:
    """Band signals of the people of one or more dyads, cut into epochs as compute_sync."""

    def __init__(self, insts, bands, method, decim, epoch_duration, kw, channels, order,
                 signed=False):
        self.bands = bands
        self.signed = signed
        self.kw = kw
        self.method, self.decim = method, decim
        first = insts[0]
        self.sfreq = first.info["sfreq"]
        self.raw = isinstance(first, mne.io.BaseRaw)
        if self.raw:
            n_len = int(round(epoch_duration * self.sfreq))
            if n_len < 2:
                raise ValueError(f"epoch_duration={epoch_duration} s is under 2 samples.")
            self.n_len = n_len
            # all windows; BAD ones are masked afterwards so every person shares one grid
            self.starts = window_starts(first, n_len, n_len, False)
            self.masks = [self._valid(inst) for inst in insts]
        else:
            self.n_len = len(first.times)
            self.starts = None
            self.masks = [np.ones(len(inst), bool) for inst in insts]
        # signals[band][person] = array (E, F, C, L); person = 2 * dyad + position of the
        # role in the common order (order[d], roles by name)
        self.signals = {b: [] for b in bands}
        self.meta = {}
        for inst, roles in zip(insts, order):
            for r, role in enumerate(roles):
                picks = _person_picks(inst, role, channels[r])
                for b, (z, meta) in self._transform(inst, picks).items():
                    self.signals[b].append(z)
                    self.meta[b] = meta

    def _valid(self, inst):
        try:
            good = window_starts(inst, self.n_len, self.n_len, True)
        except ValueError:
            good = np.array([], int)
        return np.isin(self.starts, good)

    def _transform(self, inst, picks):
        if self.raw:
            return continuous_signals(
                inst, picks, self.bands, self.method, self.decim, self.n_len, self.n_len,
                self.starts, self.kw,
            )
        data = inst.get_data(picks=picks)
        check_epoch_data(data, [inst.ch_names[i] for i in picks])  # finite, not flat
        sig = band_analytic(data, self.sfreq, self.bands, method=self.method,
                            decim=self.decim, **self.kw)
        return {b: (s.data.transpose(0, 2, 1, 3), s) for b, s in sig.items()}


def _values(measure, xa, xb, signed=False):
    """Per-epoch values of every pair, mean over the band's frequencies: (..., Na, Nb)."""
    return compute_measure(measure, xa, xb, "within", signed=signed).mean(axis=-3)


def _fold(z):
    """(E, F, C, L) -> (1, F, E*C, L): epochs folded into the signal axis."""
    e, f, c, n = z.shape
    return z.transpose(1, 0, 2, 3).reshape(1, f, e * c, n)


# ------------------------------------------------------------------------------ engines
def _pseudo_pairs(n_dyads, keep_roles, n_surrogates, rng):
    """(person_a, person_b) index pairs of pseudo-dyads; person = 2 * dyad + role."""
    if keep_roles:
        pairs = [(2 * i, 2 * j + 1) for i in range(n_dyads) for j in range(n_dyads) if i != j]
    else:
        pairs = [
            (p, q) for p in range(2 * n_dyads) for q in range(p + 1, 2 * n_dyads)
            if p // 2 != q // 2
        ]
    pairs = np.array(pairs, int)
    if n_surrogates is not None and n_surrogates < len(pairs):
        pairs = pairs[np.sort(rng.choice(len(pairs), n_surrogates, replace=False))]
    elif n_surrogates is not None and n_surrogates > len(pairs):
        logger.info(
            f"Only {len(pairs)} pseudo-dyads exist; using all of them, not {n_surrogates}."
        )
    return pairs


def _pseudo_null(prep, measures, pairs, n_dyads, bk, max_bytes):
    """Values of every (person_a, person_b) pairing from one product per chunk.

    Returns the null (n_pairs, M, B, C, C) and the real dyads (n_dyads, M, B, C, C).
    """
    xp = bk.xp
    pa = np.unique(pairs[:, 0].tolist() + list(range(0, 2 * n_dyads, 2)))
    pb = np.unique(pairs[:, 1].tolist() + list(range(1, 2 * n_dyads, 2)))
    masks = np.array([prep.masks[p // 2] for p in range(2 * n_dyads)], float)
    n_b = len(prep.bands)
    c_a = prep.signals[next(iter(prep.bands))][0].shape[2]
    c_b = prep.signals[next(iter(prep.bands))][1].shape[2]
    total = np.zeros((len(measures), n_b, len(pa), c_a, len(pb), c_b))
    count = None
    for bi, b in enumerate(prep.bands):
        sig = prep.signals[b]
        n_ep, n_f, _, n_l = sig[0].shape
        za = xp.concatenate([sig[p] for p in pa], axis=2)  # (E, F, Pa*C, L)
        zb = xp.concatenate([sig[p] for p in pb], axis=2)
        # bytes per epoch: complex inputs, unit copies, complex and real products
        # bytes per epoch of a chunk: unit copies of the inputs, complex and real products
        per_ep = 16 * n_f * (za.shape[2] + zb.shape[2]) * n_l + 24 * n_f * za.shape[2] * zb.shape[2]
        step = int(max(1, max_bytes // per_ep))
        w = masks[pa][:, None, :] * masks[pb][None, :, :]  # (Pa, Pb, E)
        count = w.sum(axis=-1)
        for e0 in range(0, n_ep, step):
            wk = xp.asarray(w[:, :, e0 : e0 + step])
            for mi, m in enumerate(measures):
                v = _values(m, za[e0 : e0 + step], zb[e0 : e0 + step], prep.signed)
                v = v.reshape(v.shape[0], len(pa), c_a, len(pb), c_b)
                # mean over each pairing's valid epochs (BAD windows of either dyad)
                total[mi, bi] += bk.to_numpy(xp.einsum("eiajb,ije->iajb", v, wk))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = total / count[:, None, :, None]
    ia = {p: k for k, p in enumerate(pa)}
    ib = {p: k for k, p in enumerate(pb)}
    null = np.stack([means[:, :, ia[a], :, ib[b], :] for a, b in pairs])
    real = np.stack([means[:, :, ia[2 * d], :, ib[2 * d + 1], :] for d in range(n_dyads)])
    if np.any(count == 0):
        raise ValueError(
            "Some pairings have no epoch free of BAD annotations in both recordings: remove "
            "those dyads or shorten the BAD spans."
        )
    return null, real


def _shuffle_orders(rng, n, n_surrogates, what):
    """``n_surrogates`` uniformly random orders of ``range(n)`` (fixed points allowed).

    Uniform over all :math:`n!` orders, so the observed order is exchangeable with the
    surrogates and :math:`(b + 1)/(N + 1)` is exact. Derangements (no epoch left in place)
    are not: the mean of the other pairings moves *against* the observed value (the
    pairings share row and column sums), which inflates its z by :math:`n/(n-1)` -- 11 %
    with 10 epochs, enough to break a max-statistic over many pairs.
    """
    if math.factorial(n) < 20:
        warn(
            f"Shuffling {n} {what} gives only {math.factorial(n)} distinct orders: no "
            f"p-value can fall below 1/{math.factorial(n)}, so nothing can be significant at "
            f"0.05. Use more {what} (shorter ones): at least 4, better 10 or more."
        )
    return np.stack([rng.permutation(n) for _ in range(n_surrogates)])


def _pairing_null(prep, measures, perms, bk, max_bytes, reducer=None):
    """Within-dyad null from all epoch-k-of-A x epoch-l-of-B values.

    ``perms`` (K, E): surrogate k pairs A's epoch e with B's epoch perms[k, e]. One product
    per chunk of A's epochs gives all (e, l) values; surrogates index into them, so no
    surrogate copies B's signals. Cost ~E^2 pairings, at most that of K*E when K >= E.
    ``reducer`` = (Wa, Wb) averages channel pairs into ROI pairs (``Wa @ V @ Wb``) before the
    surrogates gather their values, so the gather runs over ROI pairs, not channel pairs.
    """
    xp = bk.xp
    mask = prep.masks[0]
    n_sur = len(perms)
    c_a, c_b = _pair_shape(prep)
    if reducer is not None:
        wa, wb = (xp.asarray(w, dtype=xp.float32) for w in reducer)
    out_a, out_b = (c_a, c_b) if reducer is None else (reducer[0].shape[0], reducer[1].shape[1])
    null = np.zeros((n_sur, len(measures), len(prep.bands), out_a, out_b))
    weight = mask[:, None] & mask[perms.T]  # (E, K): both windows free of BAD spans
    count = weight.sum(axis=0)
    if np.any(count == 0):
        raise ValueError("A surrogate pairs no BAD-free epochs: too few clean epochs.")
    for bi, b in enumerate(prep.bands):
        za, zb = prep.signals[b][0], prep.signals[b][1]
        n_ep, n_f, _, n_l = za.shape
        zbf = _fold(zb)
        # B (all epochs) is held whole; each of A's epochs in a chunk adds its products
        fixed = 16 * n_f * n_ep * c_b * n_l
        per_ep = 16 * n_f * c_a * n_l + 24 * n_f * c_a * n_ep * c_b
        step = int(max(1, (max_bytes - fixed) // per_ep))
        for e0 in range(0, n_ep, step):
            za_c = _fold(za[e0 : e0 + step])
            for mi, m in enumerate(measures):
                # (Ec, Ca, E, Cb)
                v = _values(m, za_c, zbf, prep.signed)[0].reshape(-1, c_a, n_ep, c_b)
                if reducer is not None:
                    v = xp.matmul(xp.matmul(wa, v.transpose(0, 2, 1, 3)), wb)  # (Ec, E, Ra, Rb)
                    v = v.transpose(0, 2, 1, 3)
                v = bk.to_numpy(v)
                for k in range(v.shape[0]):
                    e = e0 + k
                    if not mask[e]:
                        continue
                    # (Ca, K, Cb) values of epoch e against each surrogate's B epoch
                    vals = v[k][:, perms[:, e], :] * weight[e][None, :, None]
                    null[:, mi, bi] += vals.transpose(1, 0, 2)
    return null / count[:, None, None, None, None]


def _observed_within(prep, measures, bk):
    mask = prep.masks[0]
    out = np.empty((len(measures), len(prep.bands)) + _pair_shape(prep))
    for bi, b in enumerate(prep.bands):
        za, zb = prep.signals[b][0], prep.signals[b][1]
        for mi, m in enumerate(measures):
            v = bk.to_numpy(_values(m, za, zb, prep.signed))
            out[mi, bi] = v[mask].mean(axis=0)
    return out


def _pair_shape(prep):
    b = next(iter(prep.bands))
    return prep.signals[b][0].shape[2], prep.signals[b][1].shape[2]


def _observed_phase(prep, n_dyads, reducer, bk):
    r"""Mean phase difference A - B of each observed pair (radians), per band.

    The angle of :math:`\sum u_a \bar u_b` over the time points of the valid epochs (unit
    phasors), summed over the channel pairs of each ROI pair when ``reducer`` is given: 0 is
    in-phase, :math:`\pm\pi` anti-phase. ``n_dyads``: one per real dyad (pseudo-dyads), or
    ``None`` for one within-dyad pair. Shape ``(n_bands, rows, cols)``, with a leading dyad
    axis for pseudo-dyads.
    """
    xp = bk.xp
    out = []
    for d in range(1 if n_dyads is None else n_dyads):
        mask = prep.masks[d]
        per_band = []
        for b in prep.bands:
            za, zb = prep.signals[b][2 * d], prep.signals[b][2 * d + 1]
            keep = xp.asarray(np.flatnonzero(mask))
            # the valid epochs joined in time, (F, C, E * L): one product per band
            ua, ub = (unit(z[keep]).transpose(1, 2, 0, 3) for z in (za, zb))
            ua = ua.reshape(ua.shape[0], ua.shape[1], -1)
            ub = ub.reshape(ub.shape[0], ub.shape[1], -1)
            cross = bk.to_numpy(xp.matmul(ua, ub.conj().swapaxes(-1, -2)).sum(axis=0))
            if reducer is not None:
                cross = reducer[0] @ cross @ reducer[1]
            per_band.append(np.angle(cross))
        out.append(np.stack(per_band))
    return out[0] if n_dyads is None else np.stack(out)


def _shift_null(prep, inst, measures, n_sur, min_shift, rng, bk, max_bytes):
    """Circular shift of B's band signals over the span tiled by the epochs."""
    xp = bk.xp
    decims = [prep.meta[b].decim for b in prep.bands]
    unit = int(np.lcm.reduce(decims))  # lags all bands can represent exactly
    n_ep = len(prep.starts)
    span = n_ep * prep.n_len
    lo = int(np.ceil(min_shift * prep.sfreq / unit))
    hi = (span - int(np.ceil(min_shift * prep.sfreq))) // unit
    if hi < lo:
        raise ValueError(
            f"min_shift={min_shift} s leaves no lag in a {span / prep.sfreq:.1f} s recording: "
            "lower min_shift (at most a third of the recording is sensible)."
        )
    lags = rng.integers(lo, hi + 1, n_sur) * unit  # samples
    # which shifted B windows are clean: circular window sums of the BAD sample mask
    bad = bad_mask(inst, span)
    csum = np.concatenate([[0], np.cumsum(np.r_[bad, bad])])
    src = (prep.starts[None, :] + lags[:, None]) % span  # (K, E)
    b_ok = (csum[src + prep.n_len] - csum[src]) == 0
    weight = prep.masks[0][None, :] & b_ok  # (K, E)
    count = weight.sum(axis=1)
    if np.any(count == 0):
        raise ValueError("A circular shift leaves no BAD-free epoch pair: too few clean data.")
    ca, cb = _pair_shape(prep)
    null = np.zeros((n_sur, len(measures), len(prep.bands), ca, cb))
    for bi, b in enumerate(prep.bands):
        q = prep.meta[b].decim
        za, zb = prep.signals[b][0], prep.signals[b][1]
        n_f, n_l = za.shape[1], za.shape[3]
        cont = zb.transpose(1, 2, 0, 3).reshape(n_f, cb, n_ep * n_l)  # tiled span
        per_sur = 16 * n_f * n_ep * (ca + cb) * n_l + 24 * n_f * n_ep * ca * cb
        step = int(max(1, max_bytes // per_sur))
        for k0 in range(0, n_sur, step):
            sl = slice(k0, k0 + step)
            idx = ((src[sl] // q)[:, :, None] + np.arange(n_l)) % (n_ep * n_l)  # (Kc, E, L)
            xb = cont[:, :, xp.asarray(idx)]  # (F, Cb, Kc, E, L)
            n_k = xb.shape[2]
            # surrogates folded into B's signal axis: one BLAS product per epoch
            xb = xb.transpose(3, 0, 2, 1, 4).reshape(n_ep, n_f, n_k * cb, n_l)
            wk = xp.asarray(weight[sl], dtype=xp.float32)
            for mi, m in enumerate(measures):
                v = _values(m, za, xb, prep.signed).reshape(n_ep, ca, n_k, cb)  # (E, Ca, Kc, Cb)
                null[sl, mi, bi] = bk.to_numpy(xp.einsum("eikj,ke->kij", v, wk))
    return null / count[:, None, None, None, None], dict(lags_s=(lags / prep.sfreq).tolist())


def _phase_null(prep, inst, channels, measures, n_sur, rng, bk, max_bytes):
    """Fourier phase randomisation of B (same phases on all B channels), re-transformed."""
    picks_b = _person_picks(inst, get_roles(inst)[1], channels[1])
    data = inst.get_data(picks=picks_b)
    n = data.shape[1]
    spec = np.fft.rfft(data, axis=1)
    info = mne.pick_info(inst.info, picks_b)
    ca, cb = _pair_shape(prep)
    null = np.zeros((n_sur, len(measures), len(prep.bands), ca, cb))
    mask = prep.masks[0]
    for k in ProgressBar(range(n_sur), mesg="Phase-randomised surrogates"):
        phases = rng.uniform(0, 2 * np.pi, spec.shape[1])
        phases[0] = 0.0  # keep the mean real
        if n % 2 == 0:
            phases[-1] = 0.0  # and the Nyquist bin
        surr = np.fft.irfft(spec * np.exp(1j * phases), n=n, axis=1)
        raw = mne.io.RawArray(surr, info, verbose=False)
        sig = continuous_signals(
            raw, np.arange(cb), prep.bands, prep.method, prep.decim, prep.n_len, prep.n_len,
            prep.starts, prep.kw,
        )
        for bi, b in enumerate(prep.bands):
            for mi, m in enumerate(measures):
                v = bk.to_numpy(_values(m, prep.signals[b][0], sig[b][0], prep.signed))
                null[k, mi, bi] = v[mask].mean(axis=0)
    return null


def _roi_level(values, rows, cols, roles, rois):
    """Average channel pairs within each ROI pair (per surrogate); returns values, names."""
    spec = roi_spec(rois, rows, cols, roles, "inter")
    holder = SyncResult(
        np.zeros((0, 0, len(rows), len(cols))), measures=[], bands={}, rows=rows, cols=cols,
        roles=roles, convention="within", method="", rois=spec,
    )
    return holder._roi_mean(values), list(spec["rows"]), list(spec["cols"])


def _roi_weights(groups, names):
    """(n_rois, n_names) matrix whose rows average the channels of each ROI."""
    pos = {n: i for i, n in enumerate(names)}
    w = np.zeros((len(groups), len(names)))
    for r, chs in enumerate(groups.values()):
        w[r, [pos[c] for c in chs]] = 1.0 / len(chs)
    return w


def _check_common(measures, seed):
    return check_measures(measures), check_seed(seed)


@verbose
@fill_doc
def surrogate_sync(
    inst_or_insts,
    null="epoch_shuffle",
    n_surrogates=1000,
    bands=None,
    measures="plv",
    *,
    rois=None,
    seed=None,
    keep_roles=True,
    min_shift=2.0,
    epoch_duration=2.0,
    segment_duration=30.0,
    method="fft",
    decim="auto",
    correction="fdr",
    tail="auto",
    signed=False,
    backend="auto",
    n_jobs=1,
    max_bytes=256e6,
    verbose=None,
):
    """Observed synchrony and its surrogate null distribution.

    Values follow :func:`hyperinsync.compute_sync` with ``convention='within'`` and
    ``pairs='inter'``: each measure over the time points of an epoch (``epoch_duration`` s,
    no overlap, windows touching ``BAD_*`` annotations left out), averaged over epochs. The
    null values are computed from the same band signals, so window length, bands and
    preprocessing are the same for observed and null values.

    Parameters
    ----------
    inst_or_insts : DyadRaw | DyadEpochs | list of them
        One dyad (within-dyad nulls) or a list of at least 2 dyads (``'pseudo_dyads'``).
    null : str
        ``'pseudo_dyads'``, ``'epoch_shuffle'``, ``'circular_shift'``, ``'segment_shuffle'``
        or ``'phase_randomization'`` (see :mod:`hyperinsync.surrogates`). The last three
        need continuous data (Raw).
    n_surrogates : int | None
        Number of surrogates; for ``'pseudo_dyads'`` ``None`` uses all pseudo-dyads (a
        random subset otherwise).
    %(bands)s
    measures : str | list of str
        Measures of :mod:`hyperinsync.measures`.
    %(rois)s
        With ROIs, observed and null values are ROI-pair means (per surrogate).
    %(seed)s
    keep_roles : bool
        ``'pseudo_dyads'``: pair only first-role with second-role people (therapist *i* x
        client *j*); ``False``: any two people of different dyads.
    min_shift : float
        ``'circular_shift'``: the smallest lag in seconds (from either end of the recording).
    epoch_duration : float
        Window length in seconds for Raw input.
    segment_duration : float
        ``'segment_shuffle'``: segment length in seconds, rounded to whole epochs.
    method : 'fft' | 'mne_fir' | 'morlet'
        Band analytic signal method, as in :func:`hyperinsync.compute_sync`.
    decim : int | 'auto'
        Decimation of the band signals, as in :func:`hyperinsync.compute_sync`.
    correction : 'fdr' | 'maxstat' | None
        Multiple-comparison correction of the p-values (see :class:`SurrogateResult`).
    %(tail_sync)s
    %(signed_sync)s
    %(backend)s
    %(n_jobs)s
    max_bytes : float
        Approximate bound on the memory of one chunk of work, in bytes.
    %(verbose)s

    Returns
    -------
    result : SurrogateResult
        Observed values, the null, p, z and effect sizes.
    """
    _check_option("null", null, NULLS)
    _check_option("correction", correction, CORRECTIONS)
    measures, rng = _check_common(measures, seed)
    n_surrogates = _check_n_surrogates(n_surrogates, allow_none=null == "pseudo_dyads")
    if null == "pseudo_dyads":
        _validate_type(inst_or_insts, (list, tuple), "inst_or_insts",
                       "list of dyads (pseudo_dyads pairs people of different dyads)")
        insts = list(inst_or_insts)
        if len(insts) < 2:
            raise ValueError(
                f"pseudo_dyads needs at least 2 dyads to pair people of different dyads, "
                f"got {len(insts)}."
            )
    else:
        if isinstance(inst_or_insts, (list, tuple)):
            raise TypeError(
                f"null={null!r} works within one dyad: pass a single DyadRaw/DyadEpochs "
                "(use null='pseudo_dyads' for a list of dyads)."
            )
        insts = [inst_or_insts]
    for k, inst in enumerate(insts):
        _validate_type(inst, (mne.io.BaseRaw, mne.BaseEpochs), f"dyad {k}")
    kinds = {isinstance(inst, mne.io.BaseRaw) for inst in insts}
    if len(kinds) != 1:
        raise TypeError("Pass only Raw dyads or only Epochs dyads, not a mixture.")
    if null in _CONTINUOUS_ONLY and not isinstance(insts[0], mne.io.BaseRaw):
        raise TypeError(
            f"null={null!r} needs a continuous recording (DyadRaw), got Epochs: use "
            "null='epoch_shuffle' for epochs."
        )
    _validate_type(keep_roles, bool, "keep_roles")
    sfreq = insts[0].info["sfreq"]
    bands = check_bands(bands, sfreq)
    n_jobs = check_n_jobs(n_jobs)
    bk = get_backend(backend)
    kw = dict(n_cycles=7.0, freq_step=1.0, precision="single", backend=bk, n_jobs=n_jobs,
              max_bytes=max_bytes)
    params = dict(null=null, seed=seed if isinstance(seed, (int, np.integer)) else None,
                  epoch_duration=float(epoch_duration), method=method, backend=bk.name)
    _check_option("method", method, METHODS)

    _validate_type(signed, bool, "signed")
    tails = _resolve_tails(tail, measures, signed)
    params.update(signed=signed)
    if null == "pseudo_dyads":
        insts, crop = _crop_common(insts)
        params.update(crop)
        order = _role_order(insts, keep_roles)
        channels = _common_channels(insts, keep_roles, order)
        params.update(keep_roles=keep_roles, channels_a=channels[0], channels_b=channels[1],
                      roles=[list(o) for o in order])
    else:
        order = [tuple(get_roles(insts[0]))]
        channels = [_plain_good_channels(insts[0], role) for role in order[0]]
    roles0 = order[0]
    rows = [f"{roles0[0]}{ROLE_SEP}{c}" for c in channels[0]]
    cols = [f"{roles0[1]}{ROLE_SEP}{c}" for c in channels[1]]
    reducer = None
    if rois is not None:
        # only channels inside an ROI matter for ROI values: transform and pair just those
        spec = roi_spec(rois, rows, cols, roles0, "inter")
        used_r = {c for chs in spec["rows"].values() for c in chs}
        used_c = {c for chs in spec["cols"].values() for c in chs}
        channels = [
            [c for c, n in zip(channels[0], rows) if n in used_r],
            [c for c, n in zip(channels[1], cols) if n in used_c],
        ]
        rows = [n for n in rows if n in used_r]
        cols = [n for n in cols if n in used_c]
        reducer = (_roi_weights(spec["rows"], rows), _roi_weights(spec["cols"], cols).T)
    prep = _Prepared(insts, bands, method, decim, epoch_duration, kw, channels, order, signed)
    n_ep = len(prep.masks[0])
    logger.info(
        f"Surrogates: {null}, {len(insts)} dyad(s), {len(rows)} x {len(cols)} channels, "
        f"{n_ep} epochs, {', '.join(measures)} in {', '.join(bands)}"
    )

    if null == "pseudo_dyads":
        pairs = _pseudo_pairs(len(insts), keep_roles, n_surrogates, rng)
        null_vals, observed = _pseudo_null(prep, measures, pairs, len(insts), bk, max_bytes)
        params.update(pairs=pairs.tolist(), n_surrogates=len(pairs))
    else:
        observed = _observed_within(prep, measures, bk)
        if null == "epoch_shuffle":
            if n_ep < 2:
                raise ValueError("epoch_shuffle needs at least 2 epochs.")
            perms = _shuffle_orders(rng, n_ep, n_surrogates, "epochs")
            null_vals = _pairing_null(prep, measures, perms, bk, max_bytes, reducer)
        elif null == "segment_shuffle":
            per_seg = max(1, int(round(segment_duration / epoch_duration)))
            n_seg = n_ep // per_seg
            if n_seg < 2:
                raise ValueError(
                    f"segment_shuffle needs at least 2 segments: the recording has {n_ep} "
                    f"epochs of {epoch_duration} s, segment_duration={segment_duration} s. "
                    "Use a shorter segment_duration (10 or more segments give a "
                    "fine-grained null)."
                )
            orders = _shuffle_orders(rng, n_seg, n_surrogates, "segments")
            # epochs past the last whole segment stay in place
            perms = np.tile(np.arange(n_ep), (n_surrogates, 1))
            perms[:, : n_seg * per_seg] = (orders[:, :, None] * per_seg
                                           + np.arange(per_seg)).reshape(n_surrogates, -1)
            # epochs after the last whole segment are not shuffled: leave them out
            prep.masks[0] = prep.masks[0] & (np.arange(n_ep) < n_seg * per_seg)
            observed = _observed_within(prep, measures, bk)
            null_vals = _pairing_null(prep, measures, perms, bk, max_bytes, reducer)
            params.update(segment_duration=per_seg * float(epoch_duration), n_segments=n_seg)
        elif null == "circular_shift":
            _validate_type(min_shift, "numeric", "min_shift")
            null_vals, extra = _shift_null(prep, insts[0], measures, n_surrogates, min_shift,
                                           rng, bk, max_bytes)
            params.update(min_shift=float(min_shift), **extra)
        else:
            null_vals = _phase_null(prep, insts[0], channels, measures, n_surrogates, rng, bk,
                                    max_bytes)
        params.update(n_surrogates=int(n_surrogates), n_epochs=int(prep.masks[0].sum()))
        if isinstance(insts[0], mne.io.BaseRaw):
            params.update(n_times=int(insts[0].n_times))
    n_tests = len(measures) * len(bands) * len(rows) * len(cols)
    if correction == "fdr" and len(null_vals) + 1 < n_tests / 0.05:
        logger.info(
            f"FDR over {n_tests} tests with {len(null_vals)} surrogates: a single test cannot "
            f"be significant at 0.05 on its own (it needs {int(np.ceil(n_tests / 0.05)) - 1} "
            "surrogates); correction='maxstat' has no such floor."
        )
    phase = _observed_phase(prep, len(insts) if null == "pseudo_dyads" else None, reducer, bk)
    level = "channel"
    if rois is not None:
        observed, r_rows, r_cols = _roi_level(observed, rows, cols, roles0, rois)
        if null not in ("epoch_shuffle", "segment_shuffle"):  # those are ROI-level already
            null_vals = _roi_level(null_vals, rows, cols, roles0, rois)[0]
        rows, cols, level = r_rows, r_cols, "roi"
    group = None
    if null == "pseudo_dyads":
        params["dyads"] = [str(k) for k in range(len(insts))]
    return SurrogateResult(observed, null_vals, measures=measures, bands=bands, rows=rows,
                           cols=cols, level=level, correction=correction, tail=tails,
                           phase=phase, params=params, group=group)


@verbose
@fill_doc
def test_sync(
    inst,
    null="epoch_shuffle",
    n_surrogates=1000,
    bands=None,
    measures="plv",
    *,
    correction="fdr",
    tail="auto",
    signed=False,
    rois=None,
    seed=None,
    min_shift=2.0,
    epoch_duration=2.0,
    segment_duration=30.0,
    method="fft",
    backend="auto",
    n_jobs=1,
    verbose=None,
):
    """Test a dyad's synchrony against a within-dyad surrogate null.

    The observed values are those of :func:`hyperinsync.compute_sync` (``convention='within'``,
    ``pairs='inter'``, same ``epoch_duration``, bands and method); :math:`p = (b + 1) / (N + 1)`,
    one-sided (synchrony above chance) for magnitudes and two-sided for signed measures
    (see ``tail``).

    Parameters
    ----------
    inst : DyadRaw | DyadEpochs
        The dyad.
    null : 'epoch_shuffle' | 'circular_shift' | 'segment_shuffle' | 'phase_randomization'
        The null model (see :mod:`hyperinsync.surrogates`).
    n_surrogates : int
        Number of surrogates.
    %(bands)s
    measures : str | list of str
        Measures of :mod:`hyperinsync.measures`.
    correction : 'fdr' | 'maxstat' | None
        Correction over every measure, band and pair of the result: Benjamini-Hochberg FDR,
        or the family-wise maximum statistic of the standardised values (max-z; see
        :class:`SurrogateResult`). With ``m`` tests, FDR at 0.05 cannot reject one test on
        its own unless ``n_surrogates + 1 >= m / 0.05`` (p-values are at least
        ``1 / (n_surrogates + 1)``); it still finds effects spread over many pairs. The
        maximum statistic has no such floor.
    %(tail_sync)s
    %(signed_sync)s
    %(rois)s
    %(seed)s
    min_shift, epoch_duration, segment_duration, method
        See :func:`surrogate_sync`.
    %(backend)s
    %(n_jobs)s
    %(verbose)s

    Returns
    -------
    result : SurrogateResult
        Observed, null, p, corrected p, z and effect size per measure, band and pair.
    """
    if null == "pseudo_dyads":
        raise ValueError("test_sync tests one dyad: use pseudo_dyad_test for pseudo-dyads.")
    return surrogate_sync(
        inst, null=null, n_surrogates=n_surrogates, bands=bands, measures=measures,
        rois=rois, seed=seed, min_shift=min_shift, epoch_duration=epoch_duration,
        segment_duration=segment_duration, method=method, correction=correction, tail=tail,
        signed=signed, backend=backend, n_jobs=n_jobs,
    )


@verbose
@fill_doc
def pseudo_dyad_test(
    dyads,
    n_surrogates=None,
    bands=None,
    measures="plv",
    *,
    keep_roles=True,
    rois=None,
    correction="fdr",
    tail="auto",
    signed=False,
    n_permutations=5000,
    seed=None,
    epoch_duration=2.0,
    method="fft",
    backend="auto",
    n_jobs=1,
    verbose=None,
):
    """Real dyads against pseudo-dyads (people who never interacted).

    Per real dyad: its value, p and z against the pseudo-dyad distribution. At group level:
    the real dyads' values against the pseudo-dyads' with
    :func:`hyperinsync.stats.permutation_test` (mean difference, permutation p, Cohen's d),
    per measure, band and pair, with the measure's ``tail`` (real > pseudo for magnitudes).

    People are paired by role *name*: with ``keep_roles=True`` the first role of dyad 0
    (e.g. ``'therapist'``) of dyad *i* is paired with the second role of dyad *j*, whatever
    the order of a dyad's channels; every dyad must have the same two roles.

    Parameters
    ----------
    dyads : list of DyadRaw | list of DyadEpochs
        At least 2 dyads (same sampling rate; lengths are cut to the shortest and channels
        to those all share, both reported in ``result.params``).
    n_surrogates : int | None
        Number of pseudo-dyads drawn at random; ``None``: all.
    %(bands)s
    measures : str | list of str
        Measures of :mod:`hyperinsync.measures`.
    keep_roles : bool
        Pair only people of the two different roles (by name; dyad 0's roles define which
        is first) of different dyads. Dyads whose role names differ from dyad 0's are an
        error. ``False``: any two people of different dyads.
    %(rois)s
    correction : 'fdr' | 'maxstat' | None
        Correction of each real dyad's p-values over its measures, bands and pairs (FDR or
        the standardised maximum statistic, see :class:`SurrogateResult`). The group
        p-values are corrected by FDR in either case (Benjamini-Hochberg over measures, bands
        and pairs; under the complete null it holds the family-wise rate too).
    %(tail_sync)s
    %(signed_sync)s
    n_permutations : int
        Permutations of the group test.
    %(seed)s
    epoch_duration, method
        See :func:`surrogate_sync`.
    %(backend)s
    %(n_jobs)s
    %(verbose)s

    Returns
    -------
    result : SurrogateResult
        ``observed`` per real dyad ``(n_dyads, n_measures, n_bands, n_rows, n_cols)``, the
        pseudo-dyad ``null``, and ``group`` (real vs pseudo).
    """
    rng = check_seed(seed)
    res = surrogate_sync(
        dyads, null="pseudo_dyads", n_surrogates=n_surrogates, bands=bands, measures=measures,
        rois=rois, seed=rng, keep_roles=keep_roles, epoch_duration=epoch_duration,
        method=method, correction=correction, tail=tail, signed=signed, backend=backend,
        n_jobs=n_jobs,
    )
    if len(res.null) < 2:
        raise ValueError("The group test needs at least 2 pseudo-dyads.")
    per = [permutation_test(res.observed[:, mi], res.null[:, mi],
                            n_permutations=n_permutations, seed=rng, tail=res.tail[m])
           for mi, m in enumerate(res.measures)]
    grp = {k: np.stack([np.asarray(g[k]) for g in per]) for k in ("diff", "p", "d")}
    grp.update(n_a=per[0]["n_a"], n_b=per[0]["n_b"], n_permutations=per[0]["n_permutations"],
               tail=dict(res.tail))
    grp["p_corrected"] = None if correction is None else fdr_bh(grp["p"])[1]
    res.group = grp
    res.params["seed"] = seed if isinstance(seed, (int, np.integer)) else None
    return res


test_sync.__test__ = False  # a public function, not a pytest test
