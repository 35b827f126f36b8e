r"""Statistics of synchrony: inference, null models, group tests, mixed models.

- :mod:`~hyperinsync.stats.inference` -- p-values (Phipson & Smyth, :math:`(b + 1)/(N + 1)`),
  z, FDR, Holm, standardised max-statistic;
- :mod:`~hyperinsync.stats.surrogates` -- null models of a dyad's synchrony
  (:func:`surrogate_sync`, :func:`surrogate_test`, :func:`pseudo_dyad_test`), built on
  :mod:`~hyperinsync.stats.pairings` (who is paired with whom) and
  :mod:`~hyperinsync.stats.nulls` (the batched engines); their result
  :class:`~hyperinsync.stats.result.SurrogateResult`;
- :mod:`~hyperinsync.stats.group`, :mod:`~hyperinsync.stats.effects`,
  :mod:`~hyperinsync.stats.mixed` -- group contrasts, correlations, effect sizes with
  confidence intervals, the mixed model; their results in
  :mod:`~hyperinsync.stats.group_result`.
"""

from .effects import cohens_d_ci, eta_sq_partial_ci
from .group_result import ContrastResult, CorrelationResult, MixedModelResult
from .group import STATISTICS, correlation_test, group_contrast, permutation_test
from .inference import (
    CORRECTIONS,
    STANDARDIZE,
    TAILS,
    check_alpha,
    fdr_bh,
    holm,
    maxstat_p,
    p_value,
    standardize,
    zscore,
)
from .mixed import mixed_model
from .result import SurrogateResult
from .surrogates import NULLS, pseudo_dyad_test, surrogate_sync, surrogate_test

__all__ = [
    "CORRECTIONS",
    "ContrastResult",
    "CorrelationResult",
    "MixedModelResult",
    "NULLS",
    "STANDARDIZE",
    "STATISTICS",
    "SurrogateResult",
    "TAILS",
    "check_alpha",
    "cohens_d_ci",
    "correlation_test",
    "eta_sq_partial_ci",
    "fdr_bh",
    "group_contrast",
    "holm",
    "maxstat_p",
    "mixed_model",
    "p_value",
    "permutation_test",
    "pseudo_dyad_test",
    "standardize",
    "surrogate_sync",
    "surrogate_test",
    "zscore",
]
