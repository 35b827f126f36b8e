"""Mixed designs: a linear mixed model (between dyads x within conditions, dyad random)."""

from __future__ import annotations

import re
import warnings
from itertools import combinations

import numpy as np
from scipy import stats as _sps

from .._docs import fill_doc
from .effects import _check_ci, eta_sq_partial_ci
from .group_result import MixedModelResult


def _as_frame(data, columns):
    """Return a pandas DataFrame of ``data`` (a DataFrame, dict of columns or list of row dicts)."""
    import pandas as pd

    df = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"data has no column(s) {missing}; its columns are {list(df.columns)}.")
    return df


def _fit_reml(model):
    """Return the REML fit of a statsmodels ``MixedLM``: ``(fit or None, converged)``.

    statsmodels' default optimiser stops short now and then near a variance of 0: fall back
    to derivative-free ones and keep the best converged REML fit.
    """
    best, best_ok = None, False
    for method in (None, "powell", "nm"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                cand = model.fit(reml=True, **({} if method is None else dict(method=method)))
            except (np.linalg.LinAlgError, ValueError):
                continue
        ok = bool(getattr(cand, "converged", True)) and not any(
            "converge" in str(w.message).lower() for w in caught
        )
        if best is None or (ok and (not best_ok or cand.llf > best.llf + 1e-8)):
            best, best_ok = cand, ok
        if best_ok and method is None:
            break
    return best, best_ok


@fill_doc
def mixed_model(data, dv="value", between="group", within=(), subject="dyad", *, ci=0.95):
    r"""Mixed design (between x within, subject random) as a linear mixed model.

    The pilot design of a therapy study: dyads nested in a between-dyad factor (mindful vs
    non-mindful therapists) and measured under within-dyad conditions (segment rest pre /
    post, band, ROI). Fitted with :class:`statsmodels.regression.mixed_linear_model.MixedLM`
    (REML): the full factorial of ``between`` and ``within`` as fixed effects (sum-to-zero
    contrasts, so main effects are averaged over the other factors); as random effects an
    intercept per ``subject`` and one per subject x every proper subset of the within
    factors (the error strata of the split-plot ANOVA: with segment and band within, the
    dyad x segment and dyad x band interactions; the full crossing is the residual). Every
    model term is tested with the Wald test of its coefficients, :math:`F = \chi^2 / df_1`,
    against :math:`F(df_1, df_2)` with the containment denominator df of its stratum:
    :math:`df_2 = (n_{subjects} - G) \prod_{w} (L_w - 1)` over the term's within factors
    :math:`w` with :math:`L_w` levels (:math:`n_{subjects} - G` for the between term). For
    balanced data (every dyad in every condition) these are the F tests of the classical
    mixed ANOVA (e.g. :func:`pingouin.mixed_anova` for one within factor; the group x
    segment interaction of a two-level segment factor is the two-sample t test of the
    dyads' post - pre differences). Missing cells are handled by the model, the df then
    being approximate. Effect sizes are partial
    :math:`\eta_p^2 = F df_1 / (F df_1 + df_2)` with their noncentral-F intervals
    (:func:`eta_sq_partial_ci`), and every coefficient is also given standardised by the SD
    of one observation (square root of the sum of all variance components), with its t
    interval on the term's df.

    Within terms with more than two levels assume sphericity within their stratum, as an
    uncorrected repeated-measures ANOVA does (liberal when it fails); the between term and
    its interactions with two-level within factors do not depend on it. A variance
    component estimated at 0 (on the boundary) makes the affected tests approximate. When the
    stratified model does not converge (too few dyads for its variance components), the
    random-intercept-only model is fitted instead, with a warning (``pooled``).

    Parameters
    ----------
    data : pandas.DataFrame | dict | list of dict
        Long table: one row per subject and within condition.
    dv : str
        Column of the dependent variable (e.g. the surrogate-corrected synchrony).
    between : str
        Column of the between-subject factor (at least 2 levels of at least 2 subjects).
    within : str | sequence of str
        Columns of the within-subject factors; factors with a single level are left out.
        At least one factor must have 2 or more levels.
    subject : str
        Column naming the subject (dyad); each subject must have one ``between`` level.
    ci : float
        Level of the confidence intervals.

    Returns
    -------
    result : MixedModelResult
        A dict (:class:`~hyperinsync.stats.group_result.MixedModelResult`, with
        ``to_table()`` of the terms, ``coefficient_table()`` and ``get_data()``): ``terms``
        (one dict per model term: ``term``, ``F``, ``df1``, ``df2``, ``p``,
        ``eta_sq_partial``, ``eta_sq_partial_ci_low`` / ``_high``), ``coefficients`` (one
        dict per fixed coefficient: ``name``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``standardised``, ``standardised_ci_low`` / ``_high``), ``variance``
        (``subject``, one per stratum, ``residual``), ``boundary`` (variance components
        estimated at 0), ``pooled`` (True when the stratified model did not converge and a
        random intercept only was fitted, with a warning), ``n_subjects``, ``n_obs``,
        ``within`` (factors used), ``formula``, ``converged``, ``method``, ``ci``.

    Examples
    --------
    %(example_mixed_design)s
    >>> fit
    <MixedModelResult | 3 term(s) | value ~ group * segment + (1 | dyad)>
    >>> fit.to_table()[["term", "F", "df1", "df2", "p"]].round(3)
                  term       F  df1   df2      p
    0            group   1.990  1.0  10.0  0.189
    1          segment  73.541  1.0  10.0  0.000
    2  group x segment  37.556  1.0  10.0  0.000
    """
    import statsmodels.formula.api as smf

    ci = _check_ci(ci)
    within = [within] if isinstance(within, str) else list(within)
    df = _as_frame(data, [dv, between, subject] + within)
    y = df[dv].astype(float)
    bad = ~np.isfinite(y.to_numpy())
    if bad.all():
        raise ValueError(f"Every value of {dv!r} is NaN or infinite: nothing to model.")
    if bad.any():
        from .._utils import warn

        warn(
            f"mixed_model: {int(bad.sum())} row(s) with a non-finite {dv!r} are excluded "
            f"(subjects {sorted(map(str, df.loc[bad, subject].unique()))})."
        )
        df = df.loc[~bad]
    levels_per_subject = df.groupby(subject)[between].nunique()
    mixed = levels_per_subject[levels_per_subject > 1]
    if len(mixed):
        raise ValueError(
            f"Subjects {list(map(str, mixed.index))} appear in more than one {between!r} "
            "level: the between factor must be constant within a subject."
        )
    sizes = df.groupby(between)[subject].nunique()
    if len(sizes) < 2 or (sizes < 2).any():
        raise ValueError(
            f"mixed_model needs at least 2 {between!r} levels of at least 2 subjects each, "
            f"got {sizes.to_dict()}."
        )
    used = [w for w in within if df[w].nunique() > 1]
    if not used:
        raise ValueError(
            f"No within factor with 2 or more levels among {within}: use group_contrast "
            "for a between-only design."
        )
    # safe column names for the formula
    cols = {dv: "y_", between: "b_", subject: "s_"}
    cols.update({w: f"w{k}_" for k, w in enumerate(used)})
    frame = df[list(cols)].rename(columns=cols)
    for c in frame.columns[1:]:
        frame[c] = frame[c].astype(str)
    factors = ["C(b_, Sum)"] + [f"C(w{k}_, Sum)" for k in range(len(used))]
    formula = "y_ ~ " + " * ".join(factors)
    n_levels = {f"w{k}_": frame[f"w{k}_"].nunique() for k in range(len(used))}
    # error strata as in the split-plot ANOVA: subject x every proper subset of the within
    # factors gets its own variance component (the full crossing is the residual), so each
    # within term is tested against its own subject x term interaction
    strata = [c for r in range(1, len(used)) for c in combinations(n_levels, r)]
    vc = {f"vc{k}_": "0 + " + ":".join(f"C({w})" for w in s) for k, s in enumerate(strata)}

    def fit_model(vc_formula):
        return _fit_reml(
            smf.mixedlm(
                formula, frame, groups=frame["s_"], re_formula="1", vc_formula=vc_formula or None
            )
        )

    from .._utils import warn

    fit, converged = fit_model(vc)
    pooled = False
    if not converged and vc:
        # too many variance components for these data: the random-intercept model (one
        # pooled within-dyad error, i.e. compound symmetry) is the usual simplification
        simple, ok = fit_model(None)
        if ok:
            warn(
                "mixed_model: the model with one variance component per error stratum did "
                "not converge; fitted with a random intercept per subject only (within "
                "terms tested against the pooled within-subject error, assuming compound "
                "symmetry)."
            )
            fit, converged, pooled, strata, vc = simple, True, True, [], {}
    if fit is None:
        raise ValueError(f"The mixed model {formula} could not be fitted to these data.")
    if not converged:
        warn(
            "mixed_model: the REML fit did not converge; its tests are unreliable "
            "(result['converged'] is False)."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wald = fit.wald_test_terms(scalar=True)
    n_obs, n_sub = len(frame), frame["s_"].nunique()
    df_subjects = n_sub - frame["b_"].nunique()
    names = {v: k for k, v in cols.items()}

    def denominator_df(term):
        # containment: the subject x (within part of the term) stratum; pooled within-
        # subject error (between-within df) for the random-intercept-only fallback
        within_part = [f for f in re.findall(r"C\((w\d+_), Sum\)", term)]
        if pooled and within_part:
            return float(n_obs - n_sub - (len(fit.fe_params) - frame["b_"].nunique()))
        return float(df_subjects * np.prod([n_levels[w] - 1 for w in within_part]))

    def readable(term):
        # "C(b_, Sum)[S.a]:C(w0_, Sum)[S.post]" -> "group[a] x segment[post]"
        def one(m):
            level = f"[{m.group(3)}]" if m.group(3) is not None else ""
            return names[m.group(1)] + level

        return " x ".join(
            re.sub(r"C\((\w+_), Sum\)(\[S\.(.*)\])?", one, piece) for piece in term.split(":")
        )

    terms = []
    table = wald.table
    for term in table.index:
        if term == "Intercept":
            continue
        df1 = float(table.loc[term, "df_constraint"])
        F = float(table.loc[term, "statistic"]) / df1
        df2 = denominator_df(term)
        lo, hi = eta_sq_partial_ci(F, df1, df2, ci)
        terms.append(
            dict(
                term=readable(term),
                F=F,
                df1=df1,
                df2=df2,
                p=float(_sps.f.sf(F, df1, df2)),
                eta_sq_partial=F * df1 / (F * df1 + df2),
                eta_sq_partial_ci_low=float(lo),
                eta_sq_partial_ci_high=float(hi),
            )
        )
    variance = dict(subject=float(np.asarray(fit.cov_re)[0, 0]))
    for (key, s), value in zip(
        ((k, s) for k, s in zip(vc, strata)), np.atleast_1d(getattr(fit, "vcomp", []))
    ):
        variance[f"{subject} x " + " x ".join(names[w] for w in s)] = float(value)
    variance["residual"] = float(fit.scale)
    sd_total = np.sqrt(sum(variance.values()))
    # variance components estimated at 0: their stratum is pooled with the residual
    boundary = [k for k, v in variance.items() if k != "residual" and v <= 1e-8 * sd_total**2]
    coefs = []
    for name in fit.fe_params.index:
        est, se = float(fit.fe_params[name]), float(fit.bse_fe[name])
        tcrit = _sps.t.ppf(0.5 + ci / 2.0, denominator_df(name))
        lo, hi = est - tcrit * se, est + tcrit * se
        coefs.append(
            dict(
                name=readable(name),
                estimate=est,
                se=se,
                ci_low=lo,
                ci_high=hi,
                standardised=est / sd_total,
                standardised_ci_low=lo / sd_total,
                standardised_ci_high=hi / sd_total,
            )
        )
    random = [f"(1 | {subject})"] + [
        f"(1 | {subject}:" + ":".join(names[w] for w in s) + ")" for s in strata
    ]
    return MixedModelResult(
        terms=terms,
        coefficients=coefs,
        variance=variance,
        n_subjects=int(n_sub),
        n_obs=int(n_obs),
        within=used,
        boundary=boundary,
        formula=f"{dv} ~ {' * '.join([between] + used)} + " + " + ".join(random),
        converged=converged,
        ci=ci,
        pooled=pooled,
        method=(
            "statsmodels MixedLM (REML): random intercept per subject only (the "
            "stratified model did not converge); Wald F with between-within "
            "denominator df"
            if pooled
            else "statsmodels MixedLM (REML): random intercept per subject and per subject x "
            "within-factor stratum; Wald F with containment denominator df"
        ),
    )
