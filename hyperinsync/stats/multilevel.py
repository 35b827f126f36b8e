r"""Multilevel questions about synchrony across sessions and dyads.

A typical therapy study measures synchrony per segment (e.g. imagery ``IM`` vs
cognitive-behavioural ``CB`` techniques), per session, in 30 dyads x 5 sessions, and asks:

- **Where does synchrony vary?** :func:`icc` decomposes its variance into a dyad level
  (stable differences between therapist-client pairs) and a session level (within a dyad,
  from session to session), optionally with a third, nested level (segments within
  sessions), by a random-intercept linear mixed model fitted with REML
  (:class:`statsmodels.regression.mixed_linear_model.MixedLM`). The intraclass correlation
  is the dyad share :math:`\sigma^2_{dyad} / (\sigma^2_{dyad} + \sigma^2_{session})`. For a
  one-level design the one-way ANOVA estimator ICC(1) with its exact F-based confidence
  interval (Shrout & Fleiss, 1979; McGraw & Wong, 1996) is reported beside it; the two
  agree for balanced data when the estimate is positive.
- **Does segment synchrony predict the session's outcome?** :func:`predict_outcome`
  fits ``outcome ~ predictors + (1 | dyad)`` (e.g. the Session Alliance Inventory's bond
  scale on IM and CB synchrony), optionally splitting each predictor into its dyad mean
  (between-dyad effect) and the session's deviation from it (within-dyad effect), which a
  random-intercept model otherwise blends (Enders & Tofighi, 2007). Wald tests and
  intervals of the coefficients use the normal distribution, as statsmodels reports them.

:func:`segment_table` gathers the per-segment results of many
:class:`~hyperinsync.stats.LaggedSyncResult` into the long table both functions take.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _sps

from .._utils import _check_option, _validate_type, as_table, warn
from .effects import _check_ci
from .mixed import _as_frame, _fit_reml


def _fit(model):
    """Fit by REML (:func:`~hyperinsync.stats.mixed._fit_reml`).

    An error when no fit succeeds, a warning when it did not converge.
    """
    best, best_ok = _fit_reml(model)
    if best is None:
        raise ValueError("The mixed model could not be fitted to these data.")
    if not best_ok:
        warn("The REML fit did not converge; its estimates are unreliable.")
    return best, best_ok


def _clean(df, columns):
    """Rows with finite values in ``columns`` (dropped rows warned about)."""
    import pandas as pd

    bad = np.zeros(len(df), bool)
    for c in columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col):
            bad |= ~np.isfinite(col.to_numpy(float))
        else:
            bad |= col.isna().to_numpy()
    if bad.all():
        raise ValueError(f"No row has finite values of {columns}.")
    if bad.any():
        warn(f"{int(bad.sum())} row(s) with missing {columns} are left out.")
    return df.loc[~bad].copy()


def _icc1_anova(y, groups, ci):
    """One-way ANOVA ICC(1) with its F interval (k0 for unequal group sizes)."""
    labels, inv = np.unique(groups, return_inverse=True)
    g = len(labels)
    n_i = np.bincount(inv).astype(float)
    n = n_i.sum()
    means = np.bincount(inv, weights=y) / n_i
    msb = np.sum(n_i * (means - y.mean()) ** 2) / (g - 1)
    msw = np.sum((y - means[inv]) ** 2) / (n - g)
    k0 = (n - np.sum(n_i**2) / n) / (g - 1)
    F = msb / msw
    icc = (msb - msw) / (msb + (k0 - 1) * msw)
    a = 1 - ci
    fl = F / _sps.f.ppf(1 - a / 2, g - 1, n - g)
    fu = F * _sps.f.ppf(1 - a / 2, n - g, g - 1)
    return dict(
        icc_anova=float(icc),
        icc_anova_ci_low=float((fl - 1) / (fl + k0 - 1)),
        icc_anova_ci_high=float((fu - 1) / (fu + k0 - 1)),
        F=float(F),
        df1=int(g - 1),
        df2=int(n - g),
        p_F=float(_sps.f.sf(F, g - 1, n - g)),
        k0=float(k0),
    )


def icc(data, value="sync", group="dyad", *, nested=None, ci=0.95):
    """Variance decomposition of synchrony: dyad vs session level (intraclass correlation).

    Parameters
    ----------
    data : pandas.DataFrame | dict | list of dict
        Long table, one row per observation (e.g. per session, or per segment of a
        session).
    value : str
        The column to decompose (e.g. ``'sync'`` or ``'sync_effect_size'``).
    group : str
        The top level (dyad).
    nested : str | None
        A level nested in ``group`` (e.g. ``'session'`` when the rows are segments); its
        values need only be unique within a dyad.
    ci : float
        Level of the ANOVA interval (one-level designs).

    Returns
    -------
    result : dict
        ``variance`` (``{group: ..., nested: ..., 'residual': ...}``, REML), ``share``
        (each component over their sum), ``icc`` (the ``group`` share: with ``nested``, the
        correlation of two observations of one dyad in different sessions), with
        ``nested`` also ``icc_nested`` (the ``group`` + ``nested`` share: two observations
        of one session); without ``nested`` the ANOVA ICC(1) (``icc_anova`` and its
        ``icc_anova_ci_low`` / ``_high``, ``F``, ``df1``, ``df2``, ``p_F``); ``n_groups``,
        ``n_obs``, ``converged``, ``boundary`` (components estimated at 0), ``method``.
    """
    import statsmodels.formula.api as smf

    ci = _check_ci(ci)
    cols = [value, group] + ([nested] if nested else [])
    df = _clean(_as_frame(data, cols), cols)
    y = df[value].to_numpy(float)
    frame = df[cols].rename(columns={value: "y_", group: "g_"})
    frame["g_"] = frame["g_"].astype(str)
    n_groups = frame["g_"].nunique()
    if n_groups < 2:
        raise ValueError(f"icc needs at least 2 {group!r} levels, got {n_groups}.")
    vc = None
    if nested:
        frame["n_"] = df[nested].astype(str).to_numpy()
        vc = {"n_": "0 + C(n_)"}
    model = smf.mixedlm("y_ ~ 1", frame, groups=frame["g_"], re_formula="1", vc_formula=vc)
    fit, ok = _fit(model)
    variance = {group: float(np.asarray(fit.cov_re)[0, 0])}
    if nested:
        variance[nested] = float(np.atleast_1d(fit.vcomp)[0])
    variance["residual"] = float(fit.scale)
    total = sum(variance.values())
    share = {k: v / total for k, v in variance.items()}
    out = dict(
        variance=variance,
        share=share,
        icc=share[group],
        n_groups=int(n_groups),
        n_obs=int(len(frame)),
        converged=ok,
        boundary=[k for k, v in variance.items() if k != "residual" and v <= 1e-8 * total],
        method="statsmodels MixedLM (REML), random intercept per "
        + group
        + (f" and per {nested} within {group}" if nested else ""),
    )
    if nested:
        out["icc_nested"] = share[group] + share[nested]
    else:
        out.update(_icc1_anova(y, frame["g_"].to_numpy(), ci))
    return out


def predict_outcome(
    data, outcome, predictors, group="dyad", *, center=None, covariates=(), ci=0.95
):
    """Session outcomes predicted from segment synchrony, random intercept per dyad.

    Fits ``outcome ~ predictors + covariates + (1 | group)`` with statsmodels' MixedLM
    (REML).

    Parameters
    ----------
    data : pandas.DataFrame | dict | list of dict
        One row per session: the outcome (e.g. ``'bond'``) and the predictors (e.g.
        ``'sync_IM'``, ``'sync_CB'``: synchrony per segment type, in wide form).
    outcome : str
        The outcome column.
    predictors : str | list of str
        Synchrony columns.
    group : str
        The dyad column.
    center : None | 'within'
        ``None``: the predictors as they are. ``'within'``: each predictor ``x`` becomes
        ``x (between)``, the dyad's mean, and
        ``x (within)``, the session's deviation from it, so the within-dyad effect (does a
        dyad's more synchronous session have a better alliance?) is not confounded with
        stable differences between dyads.
    covariates : sequence of str
        Further fixed effects, entered as they are.
    ci : float
        Level of the coefficient intervals.

    Returns
    -------
    result : dict
        ``table`` (a :class:`pandas.DataFrame`, one row per coefficient: ``term``,
        ``estimate``, ``se``, ``z``, ``p``, ``ci_low``, ``ci_high``, ``standardized``
        -- the estimate times the predictor's SD over the outcome's SD), ``variance``
        (``group`` and ``residual``), ``icc`` (of the outcome given the predictors),
        ``n_obs``, ``n_groups``, ``formula``, ``converged``, ``method``.
    """
    import statsmodels.formula.api as smf

    ci = _check_ci(ci)
    _check_option("center", center, (None, "within"))
    predictors = [predictors] if isinstance(predictors, str) else list(predictors)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not predictors:
        raise ValueError("Give at least one predictor.")
    cols = [outcome, group] + predictors + covariates
    df = _clean(_as_frame(data, cols), cols)
    terms = {}
    frame = {"y_": df[outcome].to_numpy(float), "g_": df[group].astype(str).to_numpy()}
    for k, p in enumerate(predictors + covariates):
        x = df[p].to_numpy(float)
        if center == "within" and p in predictors:
            mean = df.groupby(group)[p].transform("mean").to_numpy(float)
            frame[f"b{k}_"], frame[f"w{k}_"] = mean, x - mean
            terms[f"b{k}_"], terms[f"w{k}_"] = f"{p} (between)", f"{p} (within)"
        else:
            frame[f"x{k}_"] = x
            terms[f"x{k}_"] = p
    import pandas as pd

    frame = pd.DataFrame(frame)
    n_groups = frame["g_"].nunique()
    if n_groups < 2:
        raise ValueError(f"predict_outcome needs at least 2 {group!r} levels.")
    for col, name in terms.items():
        if not np.std(frame[col]) > 0:
            raise ValueError(f"Predictor {name!r} does not vary: it cannot be estimated.")
    formula = "y_ ~ " + " + ".join(terms)
    fit, ok = _fit(smf.mixedlm(formula, frame, groups=frame["g_"], re_formula="1"))
    zc = _sps.norm.ppf(0.5 + ci / 2)
    sd_y = frame["y_"].std(ddof=1)
    rows = []
    for name in fit.fe_params.index:
        est, se = float(fit.fe_params[name]), float(fit.bse_fe[name])
        label = "intercept" if name == "Intercept" else terms[name]
        sd_x = frame[name].std(ddof=1) if name in frame else np.nan
        rows.append(
            dict(
                term=label,
                estimate=est,
                se=se,
                z=est / se,
                p=float(2 * _sps.norm.sf(abs(est / se))),
                ci_low=est - zc * se,
                ci_high=est + zc * se,
                standardized=float(est * sd_x / sd_y) if name in frame else np.nan,
            )
        )
    var_g = float(np.asarray(fit.cov_re)[0, 0])
    return dict(
        table=as_table(rows),
        variance={group: var_g, "residual": float(fit.scale)},
        icc=var_g / (var_g + float(fit.scale)),
        n_obs=int(len(frame)),
        n_groups=int(n_groups),
        converged=ok,
        formula=f"{outcome} ~ " + " + ".join(terms.values()) + f" + (1 | {group})",
        method="statsmodels MixedLM (REML), random intercept per "
        + group
        + "; Wald z tests and intervals",
    )


def segment_table(results, design=None, *, level="segment"):
    """Stack per-segment (or per-session) rows of many lagged synchrony results.

    Parameters
    ----------
    results : list of LaggedSyncResult
        One per recording (session).
    design : list of dict | None
        One dict per result with its identifiers (e.g. ``{'dyad': 'd01', 'session': 2,
        'bond': 5.3}``), added to each of its rows.
    level : 'segment' | 'session'
        Which rows of :meth:`~hyperinsync.stats.LaggedSyncResult.to_table`.

    Returns
    -------
    table : pandas.DataFrame
        The rows of every result with the design columns first.
    """
    import pandas as pd

    _check_option("level", level, ("segment", "session"))
    design = [{}] * len(results) if design is None else list(design)
    if len(design) != len(results):
        raise ValueError(f"design has {len(design)} entries for {len(results)} results.")
    frames = []
    for res, meta in zip(results, design):
        _validate_type(meta, dict, "design entry")
        tab = pd.DataFrame(res.to_table(level))
        for k, v in reversed(list(meta.items())):
            tab.insert(0, k, [v] * len(tab))
        frames.append(tab)
    return pd.concat(frames, ignore_index=True)
