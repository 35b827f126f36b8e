"""The tests of lagged synchrony: synchrony and phase against surrogates, who leads.

What each statistic is and why: :mod:`hyperinsync.stats.lagged` (the Statistics section).
These functions work on the values and sums of :func:`hyperinsync.sync.lagged.lagged_values`.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from .._utils import quiet_empty_slices, warn
from ..sync.lagged import peak_lag
from .inference import p_value, zscore


def _sign_flips(n_blocks, n_sur, rng):
    """Sign patterns over blocks: all of them when few, else random (first row: observed)."""
    if 2**n_blocks <= n_sur + 1:
        pats = np.array(list(product((1.0, -1.0), repeat=n_blocks)))
        return pats, True
    return rng.choice((1.0, -1.0), size=(n_sur, n_blocks)), False


def _lead_test(d, prof, blocks, n_sur, n_boot, alpha, ci, rng, lags_s, roles, where=None):
    """Lag-mirror test, bootstrap CI of D and of the peak lag (see the module docstring)."""
    ok = np.isfinite(d) & (blocks >= 0)
    out = dict(
        lead=np.nan,
        lead_p=np.nan,
        lead_ci_low=np.nan,
        lead_ci_high=np.nan,
        leader="undetermined",
        peak_lag=np.nan,
        peak_lag_ci_low=np.nan,
        peak_lag_ci_high=np.nan,
        n_blocks=0,
        n_windows_lead=0,
    )
    if not ok.any():
        return out
    ids = np.unique(blocks[ok])
    sums = np.array([d[ok & (blocks == b)].sum() for b in ids])
    counts = np.array([(ok & (blocks == b)).sum() for b in ids], float)
    with quiet_empty_slices():
        profs = np.array([np.nansum(prof[ok & (blocks == b)], axis=0) for b in ids])
        pcnt = np.array([np.isfinite(prof[ok & (blocks == b)]).sum(axis=0) for b in ids])
    total = counts.sum()
    D = sums.sum() / total
    out.update(lead=float(D), n_blocks=int(len(ids)), n_windows_lead=int(total))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prof = profs.sum(0) / pcnt.sum(0)
    out["peak_lag"] = float(peak_lag(mean_prof, lags_s)[0])
    if n_sur:
        pats, exact = _sign_flips(len(ids), n_sur, rng)
        null = pats @ sums / total
        if exact:  # every pattern, the observed one included: the exact distribution
            ge = np.mean(null >= D - 1e-12 * abs(D))
            le = np.mean(null <= D + 1e-12 * abs(D))
            p = min(1.0, 2.0 * min(ge, le))
        else:
            p = float(p_value(D, null, tail="two-sided"))
        if len(ids) < 5 and where is not None:
            warn(
                f"{where}: the lead test has only {len(ids)} independent block(s) of "
                f"windows, so its p-value cannot fall below {2 / 2 ** len(ids):.3g}. Use a "
                "longer recording, shorter windows or a shorter lead_block."
            )
        out["lead_p"] = float(p)
    if n_boot and len(ids) > 1:
        pick = rng.integers(0, len(ids), size=(n_boot, len(ids)))
        boot = sums[pick].sum(1) / counts[pick].sum(1)
        q = [(1 - ci) / 2, 1 - (1 - ci) / 2]
        out["lead_ci_low"], out["lead_ci_high"] = (float(v) for v in np.quantile(boot, q))
        with np.errstate(invalid="ignore", divide="ignore"):
            bprof = profs[pick].sum(1) / pcnt[pick].sum(1)
        blag = peak_lag(bprof, lags_s)[0]
        blag = blag[np.isfinite(blag)]
        if len(blag):
            lo, hi = np.quantile(blag, q, method="inverted_cdf")
            out["peak_lag_ci_low"], out["peak_lag_ci_high"] = float(lo), float(hi)
    lo, hi = out["peak_lag_ci_low"], out["peak_lag_ci_high"]
    if np.isfinite(out["lead_p"]):
        # a lead needs the mirror test and a peak-lag interval that excludes 0, both on the
        # same side: either alone lets zero-lag coupling look led more often than alpha
        side = 1 if lo > 0 else -1 if hi < 0 else 0
        led = out["lead_p"] <= alpha and side != 0 and side == np.sign(D)
        out["leader"] = f"{roles[0] if D > 0 else roles[1]}-led" if led else "simultaneous"
    return out


def _surrogate_test(obs, null, tail):
    """p, null mean and SD, SUSY-style effect size of one statistic."""
    null = null[np.isfinite(null)]
    if not np.isfinite(obs) or len(null) < 2:
        return np.nan, np.nan, np.nan, np.nan
    return (
        float(p_value(obs, null, tail=tail)),
        float(null.mean()),
        float(null.std(ddof=1)),
        float(zscore(obs, null)),
    )


def _extreme_lag(profile, count):
    """Index and value of the signed mean lag profile at its largest magnitude (per row)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = profile / count
    k = np.argmax(np.where(np.isfinite(mean), np.abs(mean), -1.0), axis=-1)
    return k, np.take_along_axis(mean, k[..., None], -1)[..., 0]


def _stats_over(
    windows,
    red,
    d,
    prof,
    blocks,
    *,
    group,
    roles,
    lags_s,
    alpha,
    ci,
    n_sur,
    n_boot,
    rng,
    where=None,
):
    """Synchrony, phase and lead statistics over a set of windows (boolean mask)."""
    obs = red.obs[windows]
    ok = np.isfinite(obs)
    n_valid = int(ok.any(axis=1).sum())
    sync = float(np.abs(obs[ok]).mean()) if ok.any() else np.nan
    # phase: the signed mean lag profile at its strongest lag (a peaked cross-correlation
    # would be diluted by the mean over every lag)
    k_obs, phase_val = _extreme_lag(np.where(ok, obs, 0.0).sum(0), ok.sum(0))
    phase_val = float(phase_val) if ok.any() else np.nan
    row = dict(
        n_windows=int(windows.sum()),
        n_windows_valid=n_valid,
        sync=sync,
        phase_value=phase_val,
        phase_lag=float(lags_s[k_obs]) if ok.any() else np.nan,
    )
    if red.sum_abs.shape[0]:
        cnt = red.count[:, windows].sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            null_sync = red.sum_abs[:, windows].sum(1) / cnt
        _, null_phase = _extreme_lag(red.prof_sgn[group], red.prof_cnt[group])
        p, m, s, es = _surrogate_test(sync, null_sync, "greater")
        # corrected: above the recording's own chance level (the feature studies compare,
        # as the EEG study's default feature), in the units of sync
        row.update(
            sync_p=p, sync_null_mean=m, sync_null_sd=s, sync_effect_size=es, sync_corrected=sync - m
        )
        pp, pm, ps, pes = _surrogate_test(phase_val, null_phase, "two-sided")
        row.update(phase_p=pp, phase_null_mean=pm, phase_null_sd=ps, phase_effect_size=pes)
        if np.isfinite(pp) and pp <= alpha:
            row["phase"] = "in-phase" if phase_val > pm else "anti-phase"
        else:
            row["phase"] = "none" if np.isfinite(pp) else "undetermined"
        row["synchrony"] = (
            "above chance"
            if np.isfinite(p) and p <= alpha
            else "not above chance"
            if np.isfinite(p)
            else "undetermined"
        )
    row.update(
        _lead_test(
            np.where(windows, d, np.nan),
            prof,
            blocks,
            n_sur,
            n_boot,
            alpha,
            ci,
            rng,
            lags_s,
            roles,
            where,
        )
    )
    return row


def _susy_summary(table, lags):
    """SUSY's own numbers from the segment x segment table (our lag sign; see module doc)."""
    n_w = table.shape[0]
    diag = table[np.arange(n_w), np.arange(n_w)]  # (W, K)
    off = ~np.eye(n_w, dtype=bool)
    pseudo = table[off]  # (W(W-1), K)
    with quiet_empty_slices():
        real_abs, real_sgn = np.nanmean(np.abs(diag), 0), np.nanmean(diag, 0)
        ps_abs, ps_sgn = np.nanmean(np.abs(pseudo), 0), np.nanmean(pseudo, 0)
    first, second = lags > 0, lags < 0  # first person leads at positive lags

    def es(real, ps, sel=slice(None)):
        return float((real[sel].mean() - ps[sel].mean()) / ps[sel].std(ddof=1))

    return dict(
        susy_Z=float(real_abs.mean()),
        susy_Z_pseudo=float(ps_abs.mean()),
        susy_SD_Z=float(real_abs.std(ddof=1)),
        susy_SD_Z_pseudo=float(ps_abs.std(ddof=1)),
        susy_pct_gt_pseudo=float(100 * np.mean(real_abs > ps_abs)),
        susy_ES=es(real_abs, ps_abs),
        susy_Z_lead_a=float(real_abs[first].mean()),
        susy_Z_lead_b=float(real_abs[second].mean()),
        susy_ES_lead_a=es(real_abs, ps_abs, first),
        susy_ES_lead_b=es(real_abs, ps_abs, second),
        susy_meanZ_in_phase=(
            float(real_sgn[real_sgn >= 0].mean()) if (real_sgn >= 0).any() else np.nan
        ),
        susy_meanZ_anti_phase=(
            float(real_sgn[real_sgn < 0].mean()) if (real_sgn < 0).any() else np.nan
        ),
        susy_n_in_phase=int((real_sgn >= 0).sum()),
        susy_n_anti_phase=int((real_sgn < 0).sum()),
        susy_Z_noabs=float(real_sgn.mean()),
        susy_Z_pseudo_noabs=float(ps_sgn.mean()),
        susy_pct_gt_pseudo_noabs=float(100 * np.mean(real_sgn > ps_sgn)),
        susy_ES_noabs=es(real_sgn, ps_sgn),
        susy_n_segments=int(np.isfinite(diag).any(axis=1).sum()),
    ), dict(real=real_abs, pseudo=ps_abs, real_noabs=real_sgn, pseudo_noabs=ps_sgn)
