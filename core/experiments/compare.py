"""One metric, one treatment against the control: the test, its intervals and the
optional extras (Fisher, rank test, bootstrap, CUPED, sequential p-value)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.common.errors import DataError
from core.common.notices import Notice
from core.experiments.adjust import cuped_theta, msprt_p_value
from core.experiments.arms import ArmStats, arm_sums, take
from core.experiments.frequentist import (
    MIN_EXPECTED_COUNT,
    MIN_OUTCOMES_PER_ARM,
    MIN_USERS_PER_ARM,
    compare_two_proportions,
    fisher_test,
    interval_label,
    mann_whitney_test,
    means_test_from_stats,
    normalise_alternative,
    too_few_to_estimate,
)
from core.experiments.inputs import ExperimentSpec

#: Above this many users per arm the bootstrap is skipped: the normal interval is
#: accurate there and 2,000 resamples of millions of users would take minutes.
BOOTSTRAP_MAX_USERS = 50_000
BOOTSTRAP_RESAMPLES = 2_000
BOOTSTRAP_SEED = 20_240_601
#: The mixture scale of the sequential p-value, as a share of the control's mean: the
#: size of effect the test is most sensitive to (10 % relative is typical of A/B tests).
SEQUENTIAL_TAU_SHARE = 0.10
#: Above this many users per arm the rank test is skipped: ranking takes seconds there,
#: and the t-test's normal approximation is then reliable even for skewed metrics.
RANK_TEST_MAX_USERS = 1_000_000
#: Below this many users in an arm, normal approximations are rough (a warning; below
#: MIN_USERS_PER_ARM no interval is given at all).
SMALL_ARM = 100
NO_INTERVAL = (float("nan"), float("nan"))


@dataclass
class MetricComparison:
    """Every number of one metric for one treatment against the control."""

    metric: str
    kind: str
    variant: str
    control: str
    control_n: int
    treatment_n: int
    control_value: float
    treatment_value: float
    difference: float
    difference_ci: tuple[float, float]
    relative_lift: float
    relative_lift_ci: tuple[float, float]
    statistic: float
    dof: float
    p_value: float
    test: str
    interval: str
    #: Standard error of the difference (unpooled), used by the sequential p-value.
    standard_error: float = float("nan")
    p_adjusted: float = float("nan")
    significant: bool = False
    family_size: int = 1
    fisher_p: float | None = None
    rank_u: float | None = None
    rank_p: float | None = None
    rank_method: str | None = None
    bootstrap_ci: tuple[float, float] | None = None
    cuped_theta: float | None = None
    variance_reduction: float | None = None
    unadjusted_p: float | None = None
    unadjusted_ci: tuple[float, float] | None = None
    sequential_p: float | None = None
    prob_beats_control: float | None = None
    expected_loss: float | None = None
    #: Why the arms are too small to estimate the change (then the intervals are NaN),
    #: or None.
    too_few: str | None = None
    notices: list[Notice] = field(default_factory=list)

    @property
    def estimable(self) -> bool:
        """True when the arms are large enough for an interval of the change."""
        return self.too_few is None


def compare(arm: ArmStats, i: int, names: list[str], spec: ExperimentSpec,
            pre: np.ndarray | None = None) -> MetricComparison:
    """Compare variant ``i`` with the control (0) on one metric.

    Below :data:`MIN_USERS_PER_ARM` users (or :data:`MIN_OUTCOMES_PER_ARM` conversions
    or non-conversions) in an arm the change is not estimated: the intervals are NaN, an
    error notice says why, and a rate's p-value is Fisher's exact test.
    """
    counts = [arm.sums[0], arm.sums[i]] if arm.kind == "conversion" else None
    too_few = too_few_to_estimate([names[0], names[i]], [arm.n[0], arm.n[i]], counts)
    if arm.kind == "conversion":
        result = _conversion(arm, i, names, spec, exact=too_few is not None)
    else:
        result = _mean(arm, i, names, spec, pre)
    if too_few:
        _without_interval(result, too_few)
        return result
    if spec.sequential:
        tau = SEQUENTIAL_TAU_SHARE * abs(result.control_value) or 1e-9
        result.sequential_p = float(msprt_p_value(result.difference, result.standard_error,
                                                  tau)[-1])
    for n, label in ((result.control_n, names[0]), (result.treatment_n, names[i])):
        if n < SMALL_ARM:
            result.notices.append(Notice(
                "small_sample", f"{arm.name}: '{label}' has only {n} users; normal "
                f"approximations are rough below {SMALL_ARM} users and the result may not "
                "repeat."))
    return result


def _without_interval(result: MetricComparison, reason: str) -> None:
    """Too few users: drop the intervals and say so in an error notice."""
    result.too_few = reason
    result.difference_ci = result.relative_lift_ci = NO_INTERVAL
    result.bootstrap_ci = None
    if result.unadjusted_ci is not None:
        result.unadjusted_ci = NO_INTERVAL
    need = f"at least {MIN_USERS_PER_ARM} users"
    if result.kind == "conversion":
        need += (f", {MIN_OUTCOMES_PER_ARM} conversions and {MIN_OUTCOMES_PER_ARM} "
                 f"non-conversions (n·p ≥ {MIN_OUTCOMES_PER_ARM} and n·(1 − p) ≥ "
                 f"{MIN_OUTCOMES_PER_ARM})")
        p_text = "the p-value is Fisher's exact test"
    else:
        p_text = ("the p-value is Welch's t-test, which assumes roughly normal means; "
                  "see the rank test")
    result.notices.append(Notice(
        "too_few_users", f"{result.metric} ({result.variant}): too few users to estimate "
        f"the change: {reason}. A normal-approximation interval needs {need} in each arm, "
        f"so no interval is given; {p_text}. Collect more users before reading the size "
        "of the effect.", "error", result.metric))


def _conversion(arm: ArmStats, i: int, names: list[str], spec: ExperimentSpec,
                exact: bool = False) -> MetricComparison:
    """The z-test of two rates; with ``exact``, Fisher's exact test gives the p-value."""
    x0, n0, x1, n1 = arm.sums[0], arm.n[0], arm.sums[i], arm.n[i]
    if x0 + x1 == 0 or x0 + x1 == n0 + n1:
        raise DataError(f"{arm.name}: every user of '{names[0]}' and '{names[i]}' has the "
                        "same outcome, so the rates cannot differ.")
    pair = compare_two_proportions(x0, n0, x1, n1, spec.alpha, spec.alternative,
                                   spec.interval)
    result = MetricComparison(
        arm.name, "conversion", names[i], names[0], int(n0), int(n1), x0 / n0, x1 / n1,
        pair.difference, pair.difference_ci, pair.relative_lift, pair.relative_lift_ci,
        pair.statistic, float("nan"), pair.p_value,
        "two-proportion z-test, pooled SE under H0", interval_label(spec.interval),
        float(np.sqrt(x0 / n0 * (1 - x0 / n0) / n0 + x1 / n1 * (1 - x1 / n1) / n1)))
    if exact:
        result.fisher_p = result.p_value = fisher_test(x0, n0, x1, n1,
                                                       spec.alternative).p_value
        result.statistic = float("nan")
        result.test = "Fisher's exact test (too few users for the z-test)"
        return result
    pooled = (x0 + x1) / (n0 + n1)
    expected = min(n0, n1) * min(pooled, 1 - pooled)
    if expected < MIN_EXPECTED_COUNT:
        result.fisher_p = fisher_test(x0, n0, x1, n1, spec.alternative).p_value
        result.notices.append(Notice(
            "small_expected", f"{arm.name}: expected counts below {MIN_EXPECTED_COUNT} "
            f"for '{names[i]}'; the z-test is approximate, Fisher's exact test gives "
            f"p = {result.fisher_p:.3g}."))
    return result


def _mean(arm: ArmStats, i: int, names: list[str], spec: ExperimentSpec,
          pre: np.ndarray | None) -> MetricComparison:
    raw = means_test_from_stats(arm.means[0], arm.sds[0], arm.n[0], arm.means[i],
                                arm.sds[i], arm.n[i], spec.alpha, spec.alternative)
    result = _mean_result(arm, i, names, raw)
    if pre is not None and arm.values is not None:
        _apply_cuped(result, arm, i, spec, pre)
    if arm.values is not None and spec.rank_test:
        _rank_test(result, arm, i, spec)
    if arm.values is not None and spec.bootstrap:
        _bootstrap(result, arm, i, spec)
    return result


def _rank_test(result: MetricComparison, arm: ArmStats, i: int, spec: ExperimentSpec
               ) -> None:
    if max(arm.n[0], arm.n[i]) > RANK_TEST_MAX_USERS:
        result.notices.append(Notice(
            "rank_test_skipped", f"{arm.name}: the Mann-Whitney test is skipped above "
            f"{RANK_TEST_MAX_USERS:,} users per arm; the t-test is reliable at this size.",
            "info"))
        return
    c, t = arm.values[arm.codes == 0], arm.values[arm.codes == i]
    if min(c.min(), t.min()) == max(c.max(), t.max()):
        return  # constant: nothing to rank
    mw = mann_whitney_test(c, t, spec.alternative)
    result.rank_u, result.rank_p, result.rank_method = mw.statistic, mw.p_value, mw.method


def _mean_result(arm: ArmStats, i: int, names: list[str], raw) -> MetricComparison:
    return MetricComparison(
        arm.name, "mean", names[i], names[0], int(arm.n[0]), int(arm.n[i]), raw.means[0],
        raw.means[1], raw.difference, raw.difference_ci, raw.relative_lift,
        raw.relative_lift_ci, raw.statistic, raw.dof, raw.p_value,
        "Welch's t-test (Welch-Satterthwaite df)", "Welch t interval",
        float(np.sqrt(raw.sds[0] ** 2 / raw.ns[0] + raw.sds[1] ** 2 / raw.ns[1])))


def _apply_cuped(result: MetricComparison, arm: ArmStats, i: int, spec: ExperimentSpec,
                 pre: np.ndarray) -> None:
    """Replace the test by the one on Y - theta (X - mean X); keep the raw p and CI."""
    x = take(pre, arm.rows)
    ok = np.isfinite(x)
    if not ok.all():
        raise DataError(f"The pre-period column has {int((~ok).sum()):,} missing values "
                        f"among the users with a '{arm.name}'; fill them (e.g. 0) or switch "
                        "CUPED off.")
    theta, x_mean, reduction = cuped_theta(arm.values, x)
    adjusted = arm.values - theta * (x - x_mean)
    n, _, means, sds = arm_sums(arm.codes, adjusted, len(arm.n))
    adj = means_test_from_stats(means[0], sds[0], n[0], means[i], sds[i], n[i], spec.alpha,
                                spec.alternative)
    result.unadjusted_p, result.unadjusted_ci = result.p_value, result.difference_ci
    # The lift keeps the control's raw mean as its base: the adjustment moves both arms
    # by theta times their covariate difference, not the level of the metric.
    base = arm.means[0]
    result.difference, result.difference_ci = adj.difference, adj.difference_ci
    result.relative_lift = adj.difference / base if base else float("nan")
    result.relative_lift_ci = tuple(v / base if base else float("nan")
                                    for v in adj.difference_ci)
    result.statistic, result.dof, result.p_value = adj.statistic, adj.dof, adj.p_value
    result.standard_error = float(np.sqrt(adj.sds[0] ** 2 / adj.ns[0]
                                          + adj.sds[1] ** 2 / adj.ns[1]))
    result.cuped_theta = theta
    result.variance_reduction = reduction
    result.test = "Welch's t-test on the CUPED-adjusted metric"


def _bootstrap(result: MetricComparison, arm: ArmStats, i: int, spec: ExperimentSpec
               ) -> None:
    c, t = arm.values[arm.codes == 0], arm.values[arm.codes == i]
    if max(len(c), len(t)) > BOOTSTRAP_MAX_USERS:
        result.notices.append(Notice(
            "bootstrap_skipped", f"{arm.name}: bootstrap skipped above "
            f"{BOOTSTRAP_MAX_USERS:,} users per arm; the t interval is accurate at this "
            "size.", "info"))
        return
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    diffs = np.empty(BOOTSTRAP_RESAMPLES)
    chunk = max(1, 5_000_000 // max(len(c) + len(t), 1))
    for start in range(0, BOOTSTRAP_RESAMPLES, chunk):
        size = min(chunk, BOOTSTRAP_RESAMPLES - start)
        mc = c[rng.integers(0, len(c), (size, len(c)))].mean(axis=1)
        mt = t[rng.integers(0, len(t), (size, len(t)))].mean(axis=1)
        diffs[start:start + size] = mt - mc
    a = spec.alpha
    qs = {"two-sided": (a / 2, 1 - a / 2), "greater": (a, 1.0), "less": (0.0, 1 - a)}[
        normalise_alternative(spec.alternative)]
    lo = float(np.quantile(diffs, qs[0])) if qs[0] > 0 else float("-inf")
    hi = float(np.quantile(diffs, qs[1])) if qs[1] < 1 else float("inf")
    result.bootstrap_ci = (lo, hi)
