"""Rows, binomial confidence intervals and targets shared by the validation scenarios."""

from dataclasses import dataclass, field

from scipy.stats import binomtest


@dataclass
class Row:
    """One measured rate of the validation study.

    Parameters
    ----------
    family : str
        The test family, e.g. ``"test_sync / epoch_shuffle / max-stat"``.
    scenario : str
        What was simulated, e.g. ``"null dyad, 8+8 channels, 60 s"``.
    quantity : str
        ``"FWER"``, ``"FPR"``, ``"FDR"``, ``"power"``, ``"accuracy"``, ...
    k, n : int
        Events (rejections, detections, correct labels) out of ``n`` replications.
    target : tuple | None
        ``("between", lo, hi)``, ``("at_most", hi)``, ``("at_least", lo)`` or ``None`` (a
        curve point reported without a target). The check uses the point estimate; the
        confidence interval is reported beside it.
    extra : dict
        Further columns (e.g. ``{"strength": 0.2}``, ``{"onset_error_s": 0.4}``).
    """

    family: str
    scenario: str
    quantity: str
    k: int
    n: int
    target: tuple | None = None
    extra: dict = field(default_factory=dict)

    @property
    def rate(self):
        return self.k / self.n if self.n else float("nan")

    @property
    def ci(self):
        """Clopper-Pearson 95 % interval of the rate."""
        if not self.n:
            return (float("nan"), float("nan"))
        ci = binomtest(self.k, self.n).proportion_ci(0.95, method="exact")
        return (ci.low, ci.high)

    def passed(self):
        """Whether the point estimate meets the target (None when there is none)."""
        if self.target is None:
            return None
        kind, *lim = self.target
        r = self.rate
        if kind == "between":
            return lim[0] <= r <= lim[1]
        if kind == "at_most":
            return r <= lim[0]
        if kind == "at_least":
            return r >= lim[0]
        raise ValueError(f"unknown target kind {kind!r}")

    def target_str(self):
        if self.target is None:
            return ""
        kind, *lim = self.target
        return {
            "between": f"[{lim[0]:g}, {lim[1]:g}]" if kind == "between" else "",
            "at_most": f"<= {lim[0]:g}",
            "at_least": f">= {lim[0]:g}",
        }[kind]


# The nominal band for a family-wise / false-positive error rate at alpha = .05.
NOMINAL = ("between", 0.03, 0.07)
FDR_TARGET = ("at_most", 0.05)
