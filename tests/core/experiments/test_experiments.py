"""A/B test statistics against values published by R, statsmodels and scipy.

Each expected number is quoted from the documentation named in the comment next to it;
where no published value exists, the reference is computed with a different
implementation (said so in the comment). Signs: our difference is treatment minus
control with index 0 the control, so a published "x - y" maps to control = y.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from core.common.errors import ConfigError, DataError
from core.experiments.analysis import (
    adjust_pvalues,
    bayesian_proportions,
    cuped_adjust,
    fisher_test,
    mann_whitney_test,
    mde_means,
    mde_proportions,
    means_test,
    means_test_from_stats,
    msprt_p_value,
    power_proportions,
    prob_b_beats_a,
    prob_beats_control,
    proportions_test,
    sample_size_means,
    sample_size_proportions,
    srm_test,
    wilson_interval,
)

# R's ?t.test example data: sleep$extra by group.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


# ----------------------------------------------------------------------------- proportions


def test_two_proportions_match_statsmodels_docs():
    # statsmodels proportions_ztest docs: count = [5, 12], nobs = [83, 99] -> p 0.159.
    # Its z is count[0] - count[1]; ours is treatment (12/99) minus control (5/83).
    res = proportions_test([5, 12], [83, 99])
    assert res.p_value == pytest.approx(0.159, abs=5e-4)
    assert res.statistic > 0
    assert res.dof == 1
    assert res.difference == pytest.approx(12 / 99 - 5 / 83)


def test_z_squared_is_pearson_chi_square_without_yates():
    # R: prop.test(x, n, correct = FALSE) reports X-squared = z²; the same table in
    # scipy.stats.chi2_contingency(correction=False) is an independent implementation.
    x, n = [120, 147], [1000, 1010]
    res = proportions_test(x, n)
    chi2, p, _, _ = stats.chi2_contingency([[120, 880], [147, 863]], correction=False)
    assert res.statistic**2 == pytest.approx(chi2)
    assert res.p_value == pytest.approx(p)


def test_k_variants_match_r_prop_test_smokers():
    # R ?prop.test: smokers <- c(83, 90, 129, 70); patients <- c(86, 93, 136, 82);
    # prop.test(smokers, patients) -> X-squared = 12.6, df = 3, p-value = 0.005585
    # (R applies no continuity correction for more than two groups).
    res = proportions_test([83, 90, 129, 70], [86, 93, 136, 82])
    assert res.statistic == pytest.approx(12.6, abs=0.05)
    assert res.dof == 3
    assert res.p_value == pytest.approx(0.005585, abs=5e-7)
    assert len(res.difference) == 3 and len(res.comparisons) == 3
    assert res.difference[2] == pytest.approx(70 / 82 - 83 / 86)


def test_wald_interval_and_one_sided_alternatives():
    # Unpooled Wald interval written out by hand: d ± z_{0.975} sqrt(p0q0/n0 + p1q1/n1).
    res = proportions_test([120, 147], [1000, 1010])
    p0, p1 = 0.12, 147 / 1010
    se = np.sqrt(p0 * (1 - p0) / 1000 + p1 * (1 - p1) / 1010)
    z = stats.norm.ppf(0.975)
    assert res.difference_ci == pytest.approx((p1 - p0 - z * se, p1 - p0 + z * se))
    greater = proportions_test([120, 147], [1000, 1010], alternative="greater")
    assert greater.p_value == pytest.approx(res.p_value / 2)
    assert greater.difference_ci[1] == 1.0  # one-sided interval, bounded like R's
    assert proportions_test([120, 147], [1000, 1010], alternative="larger").p_value == \
        greater.p_value  # statsmodels' spelling


def test_newcombe_interval_matches_statsmodels():
    # Reference: statsmodels confint_proportions_2indep(method="newcomb"), a separate
    # implementation of Newcombe's method 10.
    from statsmodels.stats.proportion import confint_proportions_2indep

    res = proportions_test([56, 48], [70, 80], interval_method="newcombe")
    lo, hi = confint_proportions_2indep(48, 80, 56, 70, method="newcomb")
    assert res.difference_ci == pytest.approx((lo, hi))


def test_relative_lift_delta_interval_includes_control_variance():
    # Delta method for m1/m0 - 1: Var ≈ v1/m0² + m1² v0/m0⁴, worked out by hand.
    res = proportions_test([120, 134], [1000, 1000])
    v0, v1 = 0.12 * 0.88 / 1000, 0.134 * 0.866 / 1000
    se = np.sqrt(v1 / 0.12**2 + 0.134**2 * v0 / 0.12**4)
    assert res.relative_lift == pytest.approx(0.134 / 0.12 - 1)
    half = stats.norm.ppf(0.975) * se
    assert res.relative_lift_ci == pytest.approx((res.relative_lift - half,
                                                  res.relative_lift + half))
    treatment_only = stats.norm.ppf(0.975) * np.sqrt(v1) / 0.12
    assert half > treatment_only  # wider than ignoring the control's noise


def test_wilson_interval_matches_r_prop_test_single_group():
    # R: prop.test(83, 86, correct = FALSE)$conf.int -> 0.9023... 0.9880... (Wilson
    # score interval); reference here computed with scipy's binomtest(...).proportion_ci
    # (method="wilson"), an independent implementation.
    lo, hi = wilson_interval(83, 86)
    ref = stats.binomtest(83, 86).proportion_ci(method="wilson")
    assert (lo, hi) == pytest.approx((ref.low, ref.high))


def test_fisher_matches_scipy_docs():
    # scipy.stats.fisher_exact docs: whales and sharks [[8, 2], [1, 5]] -> p 0.0350.
    # Rows: treatment [8 converted, 2 not], control [1, 5].
    res = fisher_test(x0=1, n0=6, x1=8, n1=10)
    assert res.p_value == pytest.approx(0.0349650, abs=1e-7)


@pytest.mark.parametrize(("conversions", "users", "message"), [
    ([5], [10], "at least two variants"),
    ([5, 6], [0, 10], "no users"),
    ([12, 6], [10, 10], "between 0 and the number of users"),
    ([0, 0], [10, 10], "same outcome"),
])
def test_proportions_bad_input_says_what_is_wrong(conversions, users, message):
    with pytest.raises(DataError, match=message):
        proportions_test(conversions, users)


def test_bad_alpha_and_alternative():
    with pytest.raises(ConfigError, match="significance level"):
        proportions_test([5, 6], [10, 10], alpha=1.5)
    with pytest.raises(ConfigError, match="Alternative"):
        proportions_test([5, 6], [10, 10], alternative="bigger")


# ----------------------------------------------------------------------------- means


def test_welch_matches_r_t_test_sleep():
    # R ?t.test: t.test(extra ~ group, data = sleep) -> t = -1.8608, df = 17.776,
    # p-value = 0.07939, 95 % CI -3.3654832 0.2054832 (group 1 minus group 2).
    res = means_test(SLEEP_1, SLEEP_2)
    assert res.statistic == pytest.approx(1.8608, abs=1e-4)
    assert res.dof == pytest.approx(17.776, abs=1e-3)
    assert res.p_value == pytest.approx(0.07939, abs=1e-5)
    assert res.difference_ci == pytest.approx((-0.2054832, 3.3654832), abs=1e-7)
    assert res.difference == pytest.approx(2.33 - 0.75)


def test_welch_from_stats_equals_arrays():
    c, t = np.array(SLEEP_1), np.array(SLEEP_2)
    res = means_test_from_stats(c.mean(), c.std(ddof=1), 10, t.mean(), t.std(ddof=1), 10)
    assert res.p_value == pytest.approx(means_test(c, t).p_value)
    # R: t.test(..., alternative = "less") on group 1 vs 2 -> p = 0.0397 (half of 0.0794)
    assert means_test(c, t, alternative="greater").p_value == pytest.approx(0.07939 / 2,
                                                                            abs=1e-5)


def test_means_bad_input():
    with pytest.raises(DataError, match="constant"):
        means_test([3, 3, 3], [3, 3, 3])
    with pytest.raises(DataError, match="at least 2"):
        means_test([1.0], [1.0, 2.0])
    with pytest.raises(DataError, match="missing"):
        means_test([1.0, np.nan, 2.0], [1.0, 2.0])


def test_mann_whitney_matches_scipy_docs_exact_and_asymptotic():
    # scipy.stats.mannwhitneyu docs: males [19, 22, 16, 29, 24], females [20, 11, 17, 12]
    # -> U1 = 17, exact p = 0.1111; method="asymptotic" -> p = 0.11134688653314041.
    males, females = [19, 22, 16, 29, 24], [20, 11, 17, 12]
    exact = mann_whitney_test(males, females)
    assert exact.statistic == 17
    assert exact.p_value == pytest.approx(0.1111, abs=1e-4)
    assert exact.method == "exact"
    asym = mann_whitney_test(males, females, method="asymptotic")
    assert asym.p_value == pytest.approx(0.11134688653314041)


def test_mann_whitney_matches_r_wilcox_test():
    # R ?wilcox.test: x <- c(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46);
    # y <- c(1.15, 0.88, 0.90, 0.74, 1.21); wilcox.test(x, y, alternative = "g")
    # -> W = 35, p-value = 0.1272. With control = x, "x greater" is "treatment less".
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    res = mann_whitney_test(x, y, alternative="less")
    assert res.statistic == 35
    assert res.p_value == pytest.approx(0.1272, abs=1e-4)


def test_mann_whitney_ties_use_the_corrected_normal_approximation():
    c, t = [0, 0, 0, 1, 2, 5] * 10, [0, 0, 1, 2, 3, 6] * 10
    res = mann_whitney_test(c, t)
    assert res.method.startswith("normal approximation")
    ref = stats.mannwhitneyu(c, t, method="asymptotic", use_continuity=True)
    assert res.p_value == pytest.approx(ref.pvalue)
    with pytest.raises(DataError, match="constant"):
        mann_whitney_test([1, 1], [1, 1])


# ----------------------------------------------------------------------------- SRM, families


def test_srm_matches_scipy_chisquare_docs():
    # scipy.stats.chisquare docs: chisquare([16, 18, 16, 14, 12, 12]) -> 2.0, p 0.8491;
    # with f_exp=[16, 16, 16, 16, 16, 8] -> 3.5, p 0.6234. Weights 2:2:2:2:2:1 scaled to
    # the observed total (88) give exactly those expected counts.
    equal = srm_test([16, 18, 16, 14, 12, 12])
    assert equal.statistic == pytest.approx(2.0)
    assert equal.p_value == pytest.approx(0.84914503608460956)
    weighted = srm_test([16, 18, 16, 14, 12, 12], [2, 2, 2, 2, 2, 1])
    assert weighted.expected == pytest.approx([16, 16, 16, 16, 16, 8])
    assert weighted.statistic == pytest.approx(3.5)
    assert weighted.p_value == pytest.approx(0.62338762774958223)
    with pytest.raises(ConfigError, match="one weight per variant"):
        srm_test([10, 10], [1, 1, 1])


def test_adjusted_p_values_follow_r_p_adjust_definitions():
    # Worked by hand from R's ?p.adjust definitions for p = 0.01..0.05 (m = 5):
    # Bonferroni m p; Holm max_{j<=i} (m - j + 1) p_(j); BH min_{j>=i} m p_(j) / j.
    p = [0.01, 0.04, 0.03, 0.02, 0.05]
    assert adjust_pvalues(p, "bonferroni") == pytest.approx([0.05, 0.2, 0.15, 0.1, 0.25])
    assert adjust_pvalues(p, "holm") == pytest.approx([0.05, 0.09, 0.09, 0.08, 0.09])
    assert adjust_pvalues(p, "fdr_bh") == pytest.approx([0.05] * 5)
    with pytest.raises(ConfigError, match="not known"):
        adjust_pvalues(p, "sidak-ish")


# ----------------------------------------------------------------------------- Bayesian


def _integral_reference(a_a, b_a, a_b, b_b):
    """P(p_B > p_A) by scipy.integrate.quad of pdf_B * cdf_A with scipy.stats.beta: a
    separate implementation from core's closed form."""
    value, _ = integrate.quad(lambda x: stats.beta.pdf(x, a_b, b_b) *
                              stats.beta.cdf(x, a_a, b_a), 0, 1, limit=200,
                              points=[stats.beta.mean(a_b, b_b)])
    return value


@pytest.mark.parametrize("params", [(3, 10, 5, 8), (121, 881, 135, 867), (1.5, 2.5, 3.5, 1.5),
                                    (40.5, 60.5, 45.5, 55.5)])
def test_prob_b_beats_a_matches_numeric_integration(params):
    assert prob_b_beats_a(*params) == pytest.approx(_integral_reference(*params), abs=1e-8)


def test_prob_beats_control_is_one_value_per_variant():
    probs = prob_beats_control([120, 135, 100], [1000, 1000, 1000])
    assert probs[0] == pytest.approx(0.5)
    assert probs[1] == pytest.approx(_integral_reference(121, 881, 136, 866), abs=1e-8)
    assert probs[2] < 0.5 < probs[1]


def test_large_counts_use_the_integral_and_agree_with_normal_limit():
    # 200 k users per arm: the posterior difference is ~normal; compare with that limit.
    x, n = [24_000, 24_400], [200_000, 200_000]
    p = prob_beats_control(x, n)[1]
    a = np.add(x, 1)
    b = np.subtract(n, x) + 1
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    assert p == pytest.approx(stats.norm.cdf((mean[1] - mean[0]) / np.sqrt(var.sum())),
                              abs=1e-3)


def test_expected_loss_matches_monte_carlo():
    # Reference: 2 M posterior draws (seeded), a different method than the closed form.
    res = bayesian_proportions([40, 52], [400, 400])
    rng = np.random.default_rng(3)
    c = rng.beta(41, 361, 2_000_000)
    t = rng.beta(53, 349, 2_000_000)
    assert res.expected_loss[1] == pytest.approx(np.maximum(c - t, 0).mean(), abs=2e-4)
    assert res.expected_loss_control[1] == pytest.approx(np.maximum(t - c, 0).mean(),
                                                         abs=2e-4)
    assert res.prob_beats_control[1] == pytest.approx((t > c).mean(), abs=2e-3)


def test_prior_is_checked():
    with pytest.raises(ConfigError, match="positive"):
        prob_beats_control([1, 2], [10, 10], prior=(0, 1))


# ----------------------------------------------------------------------------- CUPED, sequential


def test_cuped_removes_the_squared_correlation():
    # Var(Y - θX) = Var(Y)(1 - ρ²) with θ = Cov/Var(X): the removed share is ρ².
    rng = np.random.default_rng(1)
    x = rng.normal(10, 2, 5000)
    y = 3 + 0.8 * x + rng.normal(0, 1, 5000)
    res = cuped_adjust(y, x)
    assert res.theta == pytest.approx(np.polyfit(x, y, 1)[0])
    assert res.variance_reduction == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2)
    assert res.adjusted.var() == pytest.approx(y.var() * (1 - res.variance_reduction))
    assert res.adjusted.mean() == pytest.approx(y.mean())


def test_sequential_p_value_is_never_below_its_past_and_is_conservative():
    d = np.array([0.0, 0.02, 0.01, 0.03])
    se = np.array([0.02, 0.01, 0.008, 0.007])
    p = msprt_p_value(d, se, tau=0.02)
    assert (np.diff(p) <= 0).all()
    fixed = 2 * stats.norm.sf(np.abs(d / se))
    assert (p >= fixed - 1e-12).all()  # always-valid costs power at every look


# ----------------------------------------------------------------------------- planning


def test_sample_size_matches_r_power_prop_test():
    # R ?power.prop.test: power.prop.test(p1 = .50, p2 = .75, power = .90) -> n = 76.7
    # (R solves with uniroot, tolerance ~1e-4 relative; our n is the closed form);
    # power.prop.test(n = 50, p1 = .50, p2 = .75) -> power = 0.7401659;
    # power.prop.test(n = 50, p1 = .5, power = .90) -> p2 = 0.8026141.
    assert sample_size_proportions(0.5, 0.25, power=0.9) == pytest.approx(76.7, abs=0.06)
    assert sample_size_proportions(0.5, 0.5, relative=True, power=0.9) == pytest.approx(
        sample_size_proportions(0.5, 0.25, power=0.9))
    assert power_proportions(0.5, 0.75, 50) == pytest.approx(0.7401659, abs=1e-7)
    assert 0.5 + mde_proportions(0.5, 50, power=0.9) == pytest.approx(0.8026141, abs=1e-4)
    # The closed form solves R's power equation exactly.
    n = sample_size_proportions(0.12, 0.1, relative=True)
    assert power_proportions(0.12, 0.132, n) == pytest.approx(0.8)


def test_one_sided_sample_size_and_means_match_r_power_t_test():
    one = sample_size_proportions(0.5, 0.25, power=0.9, alternative="greater")
    assert one < sample_size_proportions(0.5, 0.25, power=0.9)
    # R ?power.t.test: power.t.test(power = .90, delta = 1) -> n = 22.02110.
    assert sample_size_means(sd=1, mde=1, power=0.9) == pytest.approx(22.02110, abs=1e-4)
    # ... and power.t.test(n = 20, delta = 1) has power 0.8689528, so the MDE at n = 20
    # with that power is delta = 1.
    assert mde_means(sd=1, n=20, power=0.8689528) == pytest.approx(1.0, abs=1e-4)


def test_planning_bad_input():
    with pytest.raises(ConfigError, match="between 0 and 1"):
        sample_size_proportions(1.2, 0.01)
    with pytest.raises(ConfigError, match="outside 0-1"):
        sample_size_proportions(0.9, 0.2)
    with pytest.raises(ConfigError, match="cannot be 0"):
        sample_size_proportions(0.1, 0)
