r"""Statistics of synchrony: inference, null models, group tests, mixed models.

- :mod:`~hyperinsync.stats.inference` -- p-values (Phipson & Smyth, :math:`(b + 1)/(N + 1)`),
  z, FDR, Holm, standardised max-statistic;
- :mod:`~hyperinsync.stats.surrogates` -- null models of a dyad's synchrony
  (:func:`surrogate_sync`, :func:`surrogate_test`, :func:`pseudo_dyad_test`), built on
  :mod:`~hyperinsync.stats.pairings` (who is paired with whom) and
  :mod:`~hyperinsync.stats.nulls` and :mod:`~hyperinsync.stats.pairing_nulls` (the batched
  engines); their result
  :class:`~hyperinsync.stats.result.SurrogateResult`;
- :mod:`~hyperinsync.stats.group`, :mod:`~hyperinsync.stats.effects`,
  :mod:`~hyperinsync.stats.mixed` -- group contrasts, correlations, effect sizes with
  confidence intervals, the mixed model; their results in
  :mod:`~hyperinsync.stats.group_result`;
- :mod:`~hyperinsync.stats.lagged` -- body and autonomic (lagged) synchrony tested:
  :func:`lagged_sync` (synchrony vs surrogates, in- vs anti-phase, who leads, segments,
  Level 1 episodes) and :func:`lagged_pseudo_dyads`, with the tests in
  :mod:`~hyperinsync.stats.lagged_inference` and :class:`LaggedSyncResult`;
- :mod:`~hyperinsync.stats.multilevel` -- session vs dyad variance (:func:`icc`) and
  session outcomes from segment synchrony (:func:`predict_outcome`).
"""

from .effects import cohens_d_ci, eta_sq_partial_ci
from .group import STATISTICS, correlation_test, group_contrast, permutation_test
from .group_result import ContrastResult, CorrelationResult, MixedModelResult
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
from .lagged import NULLS as LAGGED_NULLS
from .lagged import lagged_pseudo_dyads, lagged_sync
from .lagged_result import LaggedSyncResult
from .mixed import mixed_model
from .multilevel import icc, predict_outcome, segment_table
from .result import SurrogateResult
from .surrogates import NULLS, pseudo_dyad_test, surrogate_sync, surrogate_test

__all__ = [
    "CORRECTIONS",
    "ContrastResult",
    "CorrelationResult",
    "LAGGED_NULLS",
    "LaggedSyncResult",
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
    "icc",
    "lagged_pseudo_dyads",
    "lagged_sync",
    "maxstat_p",
    "mixed_model",
    "p_value",
    "permutation_test",
    "predict_outcome",
    "pseudo_dyad_test",
    "segment_table",
    "standardize",
    "surrogate_sync",
    "surrogate_test",
    "zscore",
]
