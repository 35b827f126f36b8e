"""Level 1 episodes: the window statistics that find them, their bounds, their lead-lag.

The lead-lag and the phase relation are estimated within each episode.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import t as student_t

_MAD_TO_SD = 1.482602218505602  # 1 / Phi^-1(3/4): MAD x this = SD, for Gaussian values


def _robust_level(v, xp=np):
    """Median and robust SD (MAD scaled to an SD) over the first axis (windows)."""
    med = xp.median(v, axis=0)
    return med, _MAD_TO_SD * xp.median(abs(v - med), axis=0)


def _standardise(v, loc, scale, xp=np):
    """``(v - loc) / scale``; 0 where the scale is 0 (a constant series rises nowhere)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (v - loc) / scale
    return xp.where(scale > 0, z, xp.where(xp.isnan(v), np.nan, 0.0))


def _count_p(stat, ref):
    """``(1 + #{ref >= stat}) / (len(ref) + 1)`` for every entry of ``stat`` (NaN stays).

    ``ref`` holds the null's family maxima (max-statistic) or one series' null values.
    """
    ref = np.sort(np.asarray(ref, float).ravel())
    ref = ref[~np.isnan(ref)]
    stat = np.asarray(stat, float)
    ge = len(ref) - np.searchsorted(ref, np.where(np.isnan(stat), np.inf, stat), "left")
    return np.where(np.isnan(stat), np.nan, (1.0 + ge) / (len(ref) + 1.0))


def _critical(ref, alpha):
    """Return the value that ``stat`` must exceed for ``_count_p(stat, ref) <= alpha``."""
    ref = np.sort(np.asarray(ref, float).ravel())[::-1]
    ref = ref[~np.isnan(ref)]
    # p <= alpha  <=>  fewer than alpha * (N + 1) references reach the value
    k = int(np.floor(alpha * (len(ref) + 1) + 1e-9)) - 1
    return float(ref[k]) if 0 <= k < len(ref) else np.inf


def _episode_bounds(times, vals, sig, chance, tonic, step, window, t_end):
    r"""Episodes of one series: supra-threshold runs, bounded at half height.

    A run of significant windows is a detection. Its height :math:`P` is the median of the
    run's values (robust to single noisy windows). A window overlapping a coupled stretch
    with a fraction :math:`f` sums the coherent parts of the stretch and of the tonic
    coupling around it, plus incoherent noise at the chance level :math:`B` (mean of
    circular-shift surrogate windows). With coherent parts
    :math:`c_P = \sqrt{P^2 - B^2}` and :math:`c_T = \sqrt{T^2 - B^2}` (``tonic`` level
    :math:`T`; 0 when at chance) its value is about
    :math:`\sqrt{(f c_P + (1 - f) c_T)^2 + B^2}`. The boundaries are where the series
    crosses the value of a half-coupled window (:math:`f = 1/2`), interpolated between
    window centres: there the window centre sits on the stretch's edge. Returns
    ``[onset, offset, peak index]`` per run.
    """
    out = []
    v = np.where(np.isfinite(vals), vals, -np.inf)
    n = len(v)
    padded = np.concatenate([[0], sig.astype(int), [0]])
    starts = np.flatnonzero(np.diff(padded) == 1)
    stops = np.flatnonzero(np.diff(padded) == -1) - 1  # last window of the run
    c_t = np.sqrt(max(tonic**2 - chance**2, 0.0))
    for s0, s1 in zip(starts, stops):
        pk = s0 + int(np.argmax(v[s0 : s1 + 1]))
        height = np.median(v[s0 : s1 + 1])
        c_p = np.sqrt(max(height**2 - chance**2, 0.0))
        half = np.sqrt((0.5 * (c_p + c_t)) ** 2 + chance**2)
        i = s0
        if v[i] >= half:  # walk out of the run while still above half height
            while i > 0 and v[i - 1] >= half:
                i -= 1
        else:  # or into it until half height is reached
            while v[i] < half:
                i += 1
        if i == 0 or not np.isfinite(v[i - 1]):
            onset = max(0.0, times[i] - window / 2.0) if i == 0 else times[i] - step / 2.0
        else:
            onset = times[i - 1] + step * (half - v[i - 1]) / (v[i] - v[i - 1])
        j = s1
        if v[j] >= half:
            while j < n - 1 and v[j + 1] >= half:
                j += 1
        else:
            while v[j] < half:
                j -= 1
        if j == n - 1 or not np.isfinite(v[j + 1]):
            offset = min(t_end, times[j] + window / 2.0) if j == n - 1 else times[j] + step / 2.0
        else:
            offset = times[j] + step * (v[j] - half) / (v[j] - v[j + 1])
        out.append([onset, offset, pk])
    return out


def _merge_episodes(eps, vals, merge_gap, min_duration):
    """Merge episodes closer than ``merge_gap`` (or overlapping), drop short ones."""
    eps = sorted(eps)
    merged = []
    for on, off, pk in eps:
        if merged and on - merged[-1][1] < merge_gap:
            last = merged[-1]
            last[1] = max(last[1], off)
            if vals[pk] > vals[last[2]]:
                last[2] = pk
        else:
            merged.append([on, off, pk])
    return [m for m in merged if m[1] - m[0] >= min_duration]


def _jackknife_se(reps, axis=0):
    """Delete-one jackknife standard error from the leave-one-out replicates."""
    reps = np.asarray(reps, float)
    k = reps.shape[axis]
    dev = reps - reps.mean(axis=axis, keepdims=True)
    return np.sqrt((k - 1) / k * np.sum(dev**2, axis=axis))


def _asymmetry(plv, h):
    """``D(i) = sum_{d=1..h} plv[i + d] - plv[i - d]`` for ``i`` in ``[h, n_lags - h)``.

    Positive where the PLV curve is higher on the side of larger lags: its peak lies to the
    right. ``plv``: (..., n_lags).
    """
    c = np.concatenate([np.zeros(plv.shape[:-1] + (1,)), np.cumsum(plv, axis=-1)], axis=-1)
    i = np.arange(h, plv.shape[-1] - h)
    return (c[..., i + h + 1] - c[..., i + 1]) - (c[..., i] - c[..., i - h])


def _centre(d, start):
    """Fractional index of the zero crossing of the falling curve ``d`` nearest ``start``."""
    k = int(np.clip(start, 0, len(d) - 1))
    if d[k] > 0:  # the peak lies to the right: walk right to the crossing
        while k + 1 < len(d) and d[k + 1] > 0:
            k += 1
        if k + 1 == len(d):
            return float(k)
        return k + d[k] / (d[k] - d[k + 1])
    while k > 0 and d[k - 1] <= 0:  # or left
        k -= 1
    if k == 0:
        return 0.0
    return k - 1 + d[k - 1] / (d[k - 1] - d[k])


def _accepted(t, x, crit):
    """Return the interval around ``x`` (where ``t`` = 0) in which linear ``t`` is within +-crit."""
    n = len(t)
    out = []
    for step in (-1, 1):
        k = int(np.floor(x)) if step < 0 else int(np.ceil(x))
        prev_k, prev_t = x, 0.0
        while 0 <= k < n and abs(t[k]) <= crit:
            prev_k, prev_t = k, t[k]
            k += step
        if not 0 <= k < n:  # accepted up to the searched range
            out.append(float(prev_k))
            continue
        # |t| crosses crit between prev_k and k
        target = np.sign(t[k]) * crit
        frac = (target - prev_t) / (t[k] - prev_t) if t[k] != prev_t else 0.0
        out.append(float(prev_k + frac * (k - prev_k)))
    return out[0], out[1]


def _lead_lag_sums(ua, ub, i0, i1, k_max, sfreq_dec, bandwidth, max_bytes, xp=np):
    """Return the cross sums of one episode that :func:`_lead_lag` needs, on the backend's device.

    ``ua``, ``ub``: unit phasors of the two ROIs' channels, (n, T) arrays of namespace
    ``xp``; the episode spans decimated samples ``[i0, i1)``. Returns ``(meta, sums)``:
    host numbers (``k_max``, ``n``, the block sizes) and four device arrays -- the ROI-mean
    PLV per lag (n_lags,), the mean |cross sum| of its delete-one-block replicates
    (K, n_lags), the zero-lag cross
    sum over all channel pairs (a 0-d complex array) and its replicates (K,) -- so that
    the episodes of a recording come to the host in one copy.
    """
    n_t = ua.shape[1]
    s0, s1 = max(i0, k_max), min(i1, n_t - k_max)
    if s1 - s0 < 2:  # the episode lies within max_lag of the recording's ends
        s0, s1 = i0, i1
        k_max = min(k_max, s0, n_t - s1)
    n = s1 - s0
    n_block = int(np.ceil(2.0 / bandwidth * sfreq_dec))
    n_k = int(min(n, max(4, min(20, n // max(1, n_block)))))
    edges = np.linspace(0, n, n_k + 1).round().astype(int)
    a = ua[:, s0:s1]
    n_lags = 2 * k_max + 1
    b_ext = ub[:, s0 - k_max : s1 + k_max]
    # (n_b, n_lags, n): B(t + lag) for every lag, a strided view
    views = xp.lib.stride_tricks.sliding_window_view(b_ext, n, axis=1)
    step = int(max(1, max_bytes // max(1, 32 * ub.shape[0] * n)))
    cross = xp.empty((n_k, n_lags, ua.shape[0], ub.shape[0]), dtype=xp.complex128)
    for l0 in range(0, n_lags, step):
        bl = views[:, l0 : l0 + step].conj().transpose(1, 2, 0)  # (lags, n, n_b)
        for j in range(n_k):
            e0, e1 = edges[j], edges[j + 1]
            cross[j, l0 : l0 + step] = xp.matmul(a[None, :, e0:e1], bl[:, e0:e1])
    total = cross.sum(axis=0)
    sizes = np.diff(edges)
    loo = total[None] - cross  # (K, n_lags, n_a, n_b): every block left out in turn
    plv = abs(total).mean(axis=(1, 2)) / n
    plv_j = abs(loo).mean(axis=(2, 3))  # divided by the replicates' lengths on the host
    full = total[k_max].sum()
    reps = loo[:, k_max].sum(axis=(1, 2))
    meta = dict(k_max=k_max, n=n, sizes=sizes, n_pairs=ua.shape[0] * ub.shape[0])
    return meta, (plv, plv_j, full, reps)


def _lead_lag(meta, sums, sfreq_dec, bandwidth, roles, alpha):
    r"""Lag, leader and phase relation of one episode, with jackknife confidence intervals.

    ``meta, sums``: :func:`_lead_lag_sums` (``sums`` on the host). ``PLV(tau)`` is the
    ROI-mean PLV of A(t) with B(t + tau). The lag is the centre of symmetry of its peak:
    the zero of :math:`D(\tau) = \sum_{d=1}^{h} PLV(\tau + d) - PLV(\tau - d)` near
    the highest PLV, with :math:`h` = 1 / bandwidth (the half-width of the peak). The episode
    is cut into ``K`` contiguous blocks (4 <= K <= 20, at least 2 / bandwidth long) and the
    cross sums are kept per block, so every delete-one-block replicate is the total minus
    one block. :math:`D(\tau_0) / \mathrm{SE}_{jack}` tests "the peak is centred at
    :math:`\tau_0`" (Student's t, K - 1 degrees of freedom; a smooth statistic, which the
    jackknife suits, unlike the peak's location itself); the confidence interval of the lag
    holds the lags around the estimate that this test accepts. Phase: the angle of the
    summed cross term, its interval from the jackknife, and a two-sided jackknife t-test of
    the mean cosine of the phase difference, at zero lag.
    """
    plv, plv_j, full, reps = sums
    k_max, n, sizes, n_pairs = meta["k_max"], meta["n"], meta["sizes"], meta["n_pairs"]
    plv_j = plv_j / (n - sizes)[:, None]
    n_k, n_lags = plv_j.shape
    h = int(min(max(1, round(sfreq_dec / bandwidth)), max(1, (n_lags - 1) // 2 - 1)))
    d, d_j = _asymmetry(plv, h), _asymmetry(plv_j, h)  # lags -k_max + h ... k_max - h
    se = _jackknife_se(d_j)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, d / se, np.where(d == 0, 0.0, np.inf * np.sign(d)))
    crit = float(student_t.ppf(1.0 - alpha / 2.0, n_k - 1))
    best = int(np.clip(np.argmax(plv), h, n_lags - 1 - h)) - h
    x = _centre(d, best)
    lo, hi = _accepted(t, x, crit)
    to_s = lambda i: (i + h - k_max) / sfreq_dec  # noqa: E731  (index of d -> lag in s)
    lag, lo, hi = to_s(x), to_s(lo), to_s(hi)
    if lo > 0:
        leader = f"{roles[0]}-led"
    elif hi < 0:
        leader = f"{roles[1]}-led"
    else:
        leader = "simultaneous"

    # the phase relation at zero lag: the instantaneous phase difference (at the estimated
    # lag it would carry the lag's error, 2 pi f dt, which is large for narrow bands)
    full = complex(full)
    phase = float(np.angle(full))
    dev = np.angle(reps * np.conj(full))  # replicate phases relative to the estimate
    ph_half = crit * float(_jackknife_se(dev))
    ph_lo, ph_hi = (-np.pi, np.pi) if ph_half >= np.pi else (phase - ph_half, phase + ph_half)
    cos = full.real / (n * n_pairs)
    se_cos = float(_jackknife_se(reps.real / ((n - sizes) * n_pairs)))
    if se_cos > 0:
        p_phase = float(2 * student_t.sf(abs(cos) / se_cos, n_k - 1))
    else:
        p_phase = float(cos == 0)
    if p_phase <= alpha:
        label = "in-phase" if cos > 0 else "anti-phase"
    else:
        label = "undetermined"
    return dict(
        lag=float(lag),
        lag_ci_low=float(lo),
        lag_ci_high=float(hi),
        leader=leader,
        lag_plv=float(plv[int(round(x)) + h]),
        phase_diff=phase,
        phase_ci_low=_wrap(ph_lo),
        phase_ci_high=_wrap(ph_hi),
        phase_cos=float(cos),
        p_phase=p_phase,
        phase=label,
    )


def _wrap(phase):
    """Wrap an angle into [-pi, pi]."""
    return float(np.angle(np.exp(1j * phase)))
