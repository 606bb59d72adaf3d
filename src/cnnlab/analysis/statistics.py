"""The statistics the report's claims rest on: 95% confidence intervals of a variant's mean
over seeds (Student's t), and Welch's t-test for the difference of two variants (unequal
variances, the seeds of each as independent samples). A difference is called *resolved*
only when Welch's test rejects equality at the 5% level; the n behind each test is shown."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95
ALPHA = 0.05


def ci_half_width(values, level: float = LEVEL) -> float:
    """Half-width of the ``level`` confidence interval of the mean (NaN for n < 2)."""
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if len(x) < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


@dataclass(frozen=True)
class Comparison:
    """``a`` minus ``b``: the difference of means, its 95% interval and Welch's p-value."""
    diff: float
    low: float
    high: float
    p: float
    n_a: int
    n_b: int

    @property
    def resolved(self) -> bool:
        return self.p < ALPHA

    def describe(self, scale: float = 100.0, unit: str = " points") -> str:
        if not np.isfinite(self.p):
            why = ("too few for a test" if min(self.n_a, self.n_b) < 2 else
                   "no seed-to-seed spread to test against")
            return f"n = {self.n_a} and {self.n_b} seeds: {why}, so not resolved"
        verdict = "resolved" if self.resolved else "not resolved"
        return (f"Welch's t-test p = {self.p:.3g}, 95% CI of the difference "
                f"[{scale * self.low:+.2f}, {scale * self.high:+.2f}]{unit}, "
                f"n = {self.n_a} and {self.n_b} seeds: {verdict}")


def welch(a, b) -> Comparison:
    """Welch's two-sample t-test of mean(a) - mean(b), with the Welch-Satterthwaite
    interval; p and the interval are NaN when either side has fewer than 2 values or
    both have no spread at all."""
    a = np.asarray([v for v in a if np.isfinite(v)], dtype=float)
    b = np.asarray([v for v in b if np.isfinite(v)], dtype=float)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else float("nan")
    nan = Comparison(diff, float("nan"), float("nan"), float("nan"), len(a), len(b))
    if len(a) < 2 or len(b) < 2:
        return nan
    if a.var(ddof=1) + b.var(ddof=1) == 0:
        return nan
    # scipy's Welch test also gives the Welch-Satterthwaite interval of the difference.
    test = stats.ttest_ind(a, b, equal_var=False)
    interval = test.confidence_interval(LEVEL)
    return Comparison(diff, float(interval.low), float(interval.high), float(test.pvalue),
                      len(a), len(b))


def chance_text(chance: float) -> str:
    """Chance in words, beside every verdict that rests on it."""
    return f"chance {100 * chance:.0f}%, the largest class's share of the test images"


def above_chance(values, chance: float) -> tuple[bool, str]:
    """Did a variant learn anything: is the mean of ``values`` (test accuracies over seeds)
    above ``chance`` (what a network that ignores its input scores: the largest class's
    share of the test images), by a one-sided one-sample t-test at the 5% level? Returns
    the verdict and a clause stating the test and chance (or why no test was possible)."""
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if len(x) < 2 or x.std(ddof=1) < 1e-12:  # equal values up to rounding: no test
        learned = len(x) > 0 and bool(x.min() > chance + 0.02)
        return learned, f"n = {len(x)} seeds, no spread to test; {chance_text(chance)}"
    test = stats.ttest_1samp(x, chance, alternative="greater")
    return bool(test.pvalue < ALPHA), (f"one-sided t-test against {chance_text(chance)}: "
                                       f"p = {test.pvalue:.3g}, n = {len(x)}")
