"""Frequentist tests of an A/B experiment: proportions, means, ranks, sample ratio and
multiple comparisons.

Conventions, used everywhere: index 0 is the control; differences and lifts are
treatment minus control; ``alternative="greater"`` means the treatment is larger.
The conventions each result uses are named in its ``test`` and ``interval`` fields so
that the page can show them next to the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import stats

from core.common.errors import ConfigError, DataError
from core.common.notices import Notice

Alternative = Literal["two-sided", "greater", "less"]
IntervalMethod = Literal["wald", "newcombe"]
#: Spellings accepted for the alternative: R's, scipy's and statsmodels'.
_ALTERNATIVES = {"two-sided": "two-sided", "two.sided": "two-sided", "two_sided": "two-sided",
                 "greater": "greater", "larger": "greater", "less": "less",
                 "smaller": "less"}
#: R's wilcox.test computes the exact distribution below 50 values per group without ties.
EXACT_RANK_LIMIT = 50
#: Expected cell counts below this make the chi-square approximation doubtful
#: (Cochran's rule); Fisher's exact test is offered instead.
MIN_EXPECTED_COUNT = 5
CORRECTIONS = ("none", "bonferroni", "holm", "fdr_bh")
#: Fewer users than this in an arm and the normal approximation behind the z and t
#: intervals cannot be relied on: the usual textbook rule for the central limit theorem
#: (and a skewed metric such as revenue needs more).
MIN_USERS_PER_ARM = 30
#: The Wald interval of a rate needs n·p ≥ 5 and n·(1 − p) ≥ 5 in each arm, the common
#: textbook condition for the normal approximation to a binomial (below it the coverage
#: is far from nominal; Brown, Cai and DasGupta, Statistical Science 2001, find it
#: erratic even above): at least this many conversions and non-conversions per arm.
#: With none at all the interval collapses to a point, e.g. a lift of "-100 % to -100 %".
MIN_OUTCOMES_PER_ARM = 5


@dataclass(frozen=True)
class PairComparison:
    """One treatment against the control on a conversion rate."""

    statistic: float
    p_value: float
    difference: float
    difference_ci: tuple[float, float]
    relative_lift: float
    relative_lift_ci: tuple[float, float]


@dataclass(frozen=True)
class ProportionsResult:
    """Two-proportion z-test (two groups) or chi-square test (more groups).

    For two groups ``difference``, ``relative_lift`` and their intervals are numbers;
    for more groups they are lists with one entry per treatment (index 1, 2, ...), and
    ``comparisons`` holds each treatment's pairwise z-test against the control.
    """

    statistic: float
    dof: int
    p_value: float
    difference: float | list[float]
    difference_ci: tuple[float, float] | list[tuple[float, float]]
    relative_lift: float | list[float]
    relative_lift_ci: tuple[float, float] | list[tuple[float, float]]
    rates: list[float]
    rate_cis: list[tuple[float, float]]
    comparisons: list[PairComparison]
    alternative: str
    test: str
    interval: str
    min_expected_count: float
    warnings: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class MeansResult:
    """Welch's t-test of treatment minus control."""

    statistic: float
    dof: float
    p_value: float
    difference: float
    difference_ci: tuple[float, float]
    relative_lift: float
    relative_lift_ci: tuple[float, float]
    means: tuple[float, float]
    sds: tuple[float, float]
    ns: tuple[int, int]
    alternative: str
    test: str = "Welch's t-test (Welch-Satterthwaite degrees of freedom)"


@dataclass(frozen=True)
class MannWhitneyResult:
    """Mann-Whitney U test; ``statistic`` is the U of the control."""

    statistic: float
    p_value: float
    method: str
    alternative: str
    #: P(control value > treatment value) + half the ties: U / (n_c n_t).
    probability_control_greater: float


@dataclass(frozen=True)
class SrmResult:
    """Chi-square goodness of fit of users per variant against the planned split."""

    statistic: float
    p_value: float
    dof: int
    observed: list[int]
    expected: list[float]
    planned_shares: list[float]


@dataclass(frozen=True)
class FisherResult:
    """Fisher's exact test of a 2 x 2 table (control, one treatment)."""

    odds_ratio: float
    p_value: float


# ----------------------------------------------------------------------------- helpers


def normalise_alternative(alternative: str) -> Alternative:
    """Map R, scipy and statsmodels spellings to "two-sided", "greater" or "less"."""
    try:
        return _ALTERNATIVES[str(alternative).lower()]  # type: ignore[return-value]
    except KeyError:
        raise ConfigError(f"Alternative '{alternative}' is not known; use 'two-sided', "
                          "'greater' (treatment larger) or 'less'.") from None


def check_alpha(alpha: float) -> float:
    """Return alpha as a float, refusing values outside (0, 0.5]."""
    if not 0 < float(alpha) <= 0.5:
        raise ConfigError(f"alpha = {alpha} is not a significance level; use a value "
                          "between 0 and 0.5, such as 0.05.")
    return float(alpha)


def p_from_statistic(value: float, alternative: str, dist=stats.norm) -> float:
    """P-value of a z (or t, with ``dist=stats.t(df)``) statistic."""
    alternative = normalise_alternative(alternative)
    if alternative == "greater":
        return float(dist.sf(value))
    if alternative == "less":
        return float(dist.cdf(value))
    return float(min(1.0, 2 * dist.sf(abs(value))))


def interval(estimate: float, se: float, alpha: float, alternative: str,
             dist=stats.norm) -> tuple[float, float]:
    """Normal (or t) interval; one-sided alternatives give one-sided intervals, like R."""
    alternative = normalise_alternative(alternative)
    if alternative == "two-sided":
        half = float(dist.ppf(1 - alpha / 2)) * se
        return float(estimate - half), float(estimate + half)
    half = float(dist.ppf(1 - alpha)) * se
    if alternative == "greater":
        return float(estimate - half), float("inf")
    return float("-inf"), float(estimate + half)


def _counts(conversions: Sequence[float], users: Sequence[float]
            ) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(conversions, dtype=float)
    n = np.asarray(users, dtype=float)
    if x.ndim != 1 or x.shape != n.shape:
        raise DataError("Give one conversion count and one user count per variant.")
    if len(n) < 2:
        raise DataError("An experiment needs at least two variants (a control and a "
                        f"treatment); found {len(n)}. Check the variant column.")
    if not (np.isfinite(x).all() and np.isfinite(n).all()):
        raise DataError("Conversion and user counts must be numbers, not missing values.")
    if (n <= 0).any():
        raise DataError(f"Variant at position {int(np.argmax(n <= 0))} (0 = control) has "
                        "no users; every variant needs at least one user.")
    if (x < 0).any() or (x > n).any():
        bad = int(np.argmax((x < 0) | (x > n)))
        raise DataError(f"Variant at position {bad} (0 = control) has {x[bad]:g} "
                        f"conversions for {n[bad]:g} users; conversions must be between "
                        "0 and the number of users.")
    if x.sum() == 0 or x.sum() == n.sum():
        raise DataError("Every user has the same outcome (no conversions, or all "
                        "converted), so the rates cannot differ: check the conversion "
                        "column.")
    return x, n


def too_few_to_estimate(names: Sequence[str], users: Sequence[float],
                        conversions: Sequence[float] | None = None) -> str | None:
    """Why an interval of the difference cannot be estimated from these arms, or None.

    Parameters
    ----------
    names : sequence of str
        The arms' names (control first).
    users : sequence of numbers
        Users per arm.
    conversions : sequence of numbers, optional
        Converted users per arm, for a rate (checks n·p ≥ 5 and n·(1 − p) ≥ 5).

    Returns
    -------
    str or None
        E.g. "'B' has 5 users, 0 conversions"; None when every arm has at least
        :data:`MIN_USERS_PER_ARM` users (and :data:`MIN_OUTCOMES_PER_ARM` conversions and
        non-conversions).
    """
    problems = []
    for i, name in enumerate(names):
        n = float(users[i])
        parts = [f"{n:,.0f} users"] if n < MIN_USERS_PER_ARM else []
        if conversions is not None:
            x = float(conversions[i])
            if x < MIN_OUTCOMES_PER_ARM:
                parts.append(f"{x:,.0f} conversions")
            if n - x < MIN_OUTCOMES_PER_ARM:
                parts.append(f"{n - x:,.0f} non-conversions")
        if parts:
            problems.append(f"'{name}' has {', '.join(parts)}")
    return "; ".join(problems) or None


# ----------------------------------------------------------------------------- proportions


def wilson_interval(conversions: float, users: float, alpha: float = 0.05
                    ) -> tuple[float, float]:
    """Wilson score interval of one rate (statsmodels ``proportion_confint``)."""
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(conversions, users, alpha=alpha, method="wilson")
    return float(lo), float(hi)


def compare_two_proportions(x0: float, n0: float, x1: float, n1: float,
                            alpha: float = 0.05, alternative: str = "two-sided",
                            interval_method: IntervalMethod = "wald") -> PairComparison:
    """Pooled z-test and intervals of treatment (1) minus control (0)."""
    p0, p1 = x0 / n0, x1 / n1
    pooled = (x0 + x1) / (n0 + n1)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    z = (p1 - p0) / se0 if se0 > 0 else 0.0
    v0, v1 = p0 * (1 - p0) / n0, p1 * (1 - p1) / n1
    if interval_method == "newcombe":
        diff_ci = _newcombe(x0, n0, x1, n1, alpha, alternative)
    else:
        diff_ci = interval(p1 - p0, np.sqrt(v0 + v1), alpha, alternative)
    lift, lift_ci = relative_lift(p0, v0, p1, v1, alpha, alternative)
    return PairComparison(float(z), p_from_statistic(z, alternative), float(p1 - p0),
                          _clip(diff_ci, -1.0, 1.0), lift, lift_ci)


def relative_lift(m0: float, v0: float, m1: float, v1: float, alpha: float,
                  alternative: str) -> tuple[float, tuple[float, float]]:
    """m1 / m0 - 1 with a delta-method interval that includes the control's variance.

    Var(m1/m0) ≈ v1 / m0² + m1² v0 / m0⁴ (first-order Taylor expansion of the ratio of
    two independent estimates).
    """
    if m0 == 0:
        return float("nan"), (float("nan"), float("nan"))
    se = np.sqrt(v1 / m0**2 + m1**2 * v0 / m0**4)
    return float(m1 / m0 - 1), interval(m1 / m0 - 1, float(se), alpha, alternative)


def _newcombe(x0, n0, x1, n1, alpha, alternative) -> tuple[float, float]:
    from statsmodels.stats.proportion import confint_proportions_2indep

    alternative = normalise_alternative(alternative)
    level = alpha if alternative == "two-sided" else 2 * alpha
    lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff",
                                        alpha=level)
    if alternative == "greater":
        return float(lo), float("inf")
    if alternative == "less":
        return float("-inf"), float(hi)
    return float(lo), float(hi)


def interval_label(method: IntervalMethod) -> str:
    """How the interval of a difference of rates was computed, in words."""
    return ("Newcombe hybrid score interval" if method == "newcombe"
            else "unpooled (Wald) standard error")


def _clip(ci: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    return float(max(ci[0], low)), float(min(ci[1], high))


def proportions_test(conversions: Sequence[float], users: Sequence[float],
                     alpha: float = 0.05, alternative: str = "two-sided",
                     interval_method: IntervalMethod = "wald") -> ProportionsResult:
    """Compare conversion rates; index 0 is the control.

    Parameters
    ----------
    conversions, users : sequence of numbers
        Converted users and users per variant, control first.
    alpha : float
        Significance level; intervals have confidence 1 - alpha.
    alternative : {"two-sided", "greater", "less"}
        "greater": the treatment converts more. Ignored by the chi-square test of more
        than two groups, which is always two-sided.
    interval_method : {"wald", "newcombe"}
        Interval of the difference: unpooled Wald (default) or Newcombe's hybrid score.

    Returns
    -------
    ProportionsResult
        Two groups: ``statistic`` is z with the pooled standard error under H0 (z² equals
        Pearson's chi-square without Yates' correction, ``dof`` 1). More groups:
        Pearson's chi-square of the 2 x k table with k - 1 degrees of freedom.
    """
    alpha, alternative = check_alpha(alpha), normalise_alternative(alternative)
    x, n = _counts(conversions, users)
    pairs = [compare_two_proportions(x[0], n[0], x[i], n[i], alpha, alternative,
                                     interval_method) for i in range(1, len(n))]
    rates = list(map(float, x / n))
    rate_cis = [wilson_interval(xi, ni, alpha) for xi, ni in zip(x, n, strict=True)]
    expected = np.outer(n / n.sum(), [x.sum(), n.sum() - x.sum()])
    warnings = []
    if expected.min() < MIN_EXPECTED_COUNT:
        warnings.append(Notice("small_expected", f"Some expected counts are below "
                               f"{MIN_EXPECTED_COUNT} (smallest {expected.min():.1f}): the "
                               "z and chi-square p-values are approximate; see Fisher's "
                               "exact test."))
    common = {"rates": rates, "rate_cis": rate_cis, "comparisons": pairs,
              "alternative": alternative, "interval": interval_label(interval_method),
              "min_expected_count": float(expected.min()), "warnings": warnings}
    if len(n) == 2:
        pair = pairs[0]
        return ProportionsResult(pair.statistic, 1, pair.p_value, pair.difference,
                                 pair.difference_ci, pair.relative_lift,
                                 pair.relative_lift_ci,
                                 test="two-proportion z-test, pooled standard error under "
                                      "H0 (= chi-square without Yates correction)", **common)
    table = np.vstack([x, n - x])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    if alternative != "two-sided":
        warnings.append(Notice("omnibus_two_sided", "The chi-square test across "
                               f"{len(n)} variants is two-sided; the one-sided "
                               "alternative applies to the pairwise comparisons."))
    return ProportionsResult(float(chi2), int(dof), float(p),
                             [c.difference for c in pairs], [c.difference_ci for c in pairs],
                             [c.relative_lift for c in pairs],
                             [c.relative_lift_ci for c in pairs],
                             test=f"Pearson chi-square across {len(n)} variants "
                                  "(no Yates correction)", **common)


def fisher_test(x0: float, n0: float, x1: float, n1: float,
                alternative: str = "two-sided") -> FisherResult:
    """Fisher's exact test of control (0) against one treatment (1)."""
    alternative = normalise_alternative(alternative)
    table = [[int(x1), int(n1 - x1)], [int(x0), int(n0 - x0)]]
    res = stats.fisher_exact(table, alternative=alternative)
    return FisherResult(float(res.statistic), float(res.pvalue))


# ----------------------------------------------------------------------------- means


def means_test_from_stats(mean_c: float, sd_c: float, n_c: float, mean_t: float,
                          sd_t: float, n_t: float, alpha: float = 0.05,
                          alternative: str = "two-sided") -> MeansResult:
    """Welch's t-test of treatment minus control from summary statistics.

    Parameters
    ----------
    mean_c, sd_c, n_c : float
        Control mean, standard deviation (ddof 1) and size.
    mean_t, sd_t, n_t : float
        The same for the treatment.
    alpha : float
        Significance level; the interval has confidence 1 - alpha.
    alternative : {"two-sided", "greater", "less"}
        "greater": the treatment mean is larger.

    Returns
    -------
    MeansResult
        t, Welch-Satterthwaite degrees of freedom, p-value, the difference, its t
        interval and the relative lift with a delta-method interval.
    """
    alpha, alternative = check_alpha(alpha), normalise_alternative(alternative)
    values = np.array([mean_c, sd_c, n_c, mean_t, sd_t, n_t], dtype=float)
    if not np.isfinite(values).all():
        raise DataError("Means, standard deviations and sizes must be numbers.")
    if min(n_c, n_t) < 2:
        raise DataError(f"Each variant needs at least 2 users for a t-test; control has "
                        f"{n_c:g}, treatment {n_t:g}.")
    if sd_c < 0 or sd_t < 0:
        raise DataError("A standard deviation cannot be negative.")
    v_c, v_t = sd_c**2 / n_c, sd_t**2 / n_t
    if v_c + v_t == 0:
        raise DataError("The metric is constant in both variants (standard deviation 0), "
                        "so there is nothing to test: choose another metric.")
    se = np.sqrt(v_c + v_t)
    dof = (v_c + v_t) ** 2 / (v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1))
    t = (mean_t - mean_c) / se
    dist = stats.t(dof)
    lift, lift_ci = relative_lift(mean_c, v_c, mean_t, v_t, alpha, alternative)
    return MeansResult(float(t), float(dof), p_from_statistic(t, alternative, dist),
                       float(mean_t - mean_c),
                       interval(mean_t - mean_c, float(se), alpha, alternative, dist),
                       lift, lift_ci, (float(mean_c), float(mean_t)),
                       (float(sd_c), float(sd_t)), (int(n_c), int(n_t)), alternative)


def finite_values(values, label: str) -> np.ndarray:
    """Return values as floats, refusing missing or infinite ones with a count."""
    array = np.asarray(values, dtype=float)
    bad = int((~np.isfinite(array)).sum())
    if bad:
        raise DataError(f"The {label} values hold {bad:,} missing or infinite values; "
                        "remove or fill them first.")
    return array


def means_test(control, treatment, alpha: float = 0.05,
               alternative: str = "two-sided") -> MeansResult:
    """Welch's t-test of two arrays (treatment minus control); see
    :func:`means_test_from_stats`."""
    c, t = finite_values(control, "control"), finite_values(treatment, "treatment")
    if min(len(c), len(t)) < 2:
        raise DataError(f"Each variant needs at least 2 values for a t-test; control has "
                        f"{len(c)}, treatment {len(t)}.")
    return means_test_from_stats(c.mean(), c.std(ddof=1), len(c), t.mean(), t.std(ddof=1),
                                 len(t), alpha, alternative)


def mann_whitney_test(control, treatment, alternative: str = "two-sided",
                      method: Literal["auto", "exact", "asymptotic"] = "auto"
                      ) -> MannWhitneyResult:
    """Mann-Whitney U test; ``statistic`` is the U of the control.

    ``method="auto"`` follows R's ``wilcox.test``: exact below 50 values per group when
    there are no ties, otherwise the normal approximation with tie and continuity
    correction. ``alternative="greater"`` means the treatment tends to be larger.
    """
    alternative = normalise_alternative(alternative)
    c, t = finite_values(control, "control"), finite_values(treatment, "treatment")
    if min(len(c), len(t)) < 1:
        raise DataError("Each variant needs at least one value for the rank test.")
    both = np.concatenate([c, t])
    if both.min() == both.max():
        raise DataError("The metric is constant across every user, so the rank test has "
                        "nothing to compare: choose another metric.")
    if method == "auto":
        small = max(len(c), len(t)) < EXACT_RANK_LIMIT
        method = "exact" if small and len(np.unique(both)) == len(both) else "asymptotic"
    # scipy's alternative is about x (the control): treatment larger = control less.
    scipy_alt = {"greater": "less", "less": "greater"}.get(alternative, alternative)
    res = stats.mannwhitneyu(c, t, use_continuity=True, alternative=scipy_alt, method=method)
    label = ("exact" if method == "exact"
             else "normal approximation, tie and continuity correction")
    return MannWhitneyResult(float(res.statistic), float(res.pvalue), label, alternative,
                             float(res.statistic) / (len(c) * len(t)))


# ----------------------------------------------------------------------------- SRM, families


def srm_test(observed: Sequence[float], planned_weights: Sequence[float] | None = None
             ) -> SrmResult:
    """Sample ratio mismatch: chi-square goodness of fit of users per variant.

    Parameters
    ----------
    observed : sequence of int
        Users per variant, control first.
    planned_weights : sequence of float, optional
        Planned split in any scale (e.g. 50/50, 1:1:2); equal when not given. Scaled to
        the observed total.
    """
    obs = np.asarray(observed, dtype=float)
    if obs.ndim != 1 or len(obs) < 2:
        raise DataError("The sample-ratio check needs the users of at least two variants.")
    if (obs < 0).any() or obs.sum() <= 0:
        raise DataError("User counts must be non-negative and not all zero.")
    weights = np.ones_like(obs) if planned_weights is None else np.asarray(
        planned_weights, dtype=float)
    if weights.shape != obs.shape:
        raise ConfigError(f"The planned split has {len(weights)} weights for {len(obs)} "
                          "variants; give one weight per variant.")
    if not np.isfinite(weights).all() or (weights <= 0).any():
        raise ConfigError("Planned weights must be positive numbers, e.g. 50, 50.")
    expected = weights / weights.sum() * obs.sum()
    res = stats.chisquare(obs, f_exp=expected)
    return SrmResult(float(res.statistic), float(res.pvalue), len(obs) - 1,
                     [int(v) for v in obs], list(map(float, expected)),
                     list(map(float, weights / weights.sum())))


def adjust_pvalues(p_values: Sequence[float], method: str) -> np.ndarray:
    """Adjusted p-values for a family of tests (statsmodels ``multipletests``).

    Parameters
    ----------
    p_values : sequence of float
    method : {"bonferroni", "holm", "fdr_bh", "none"}
        Bonferroni, Holm's step-down or Benjamini-Hochberg's false discovery rate.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order, capped at 1.
    """
    from statsmodels.stats.multitest import multipletests

    if method not in CORRECTIONS:
        raise ConfigError(f"Correction '{method}' is not known; use one of "
                          f"{', '.join(CORRECTIONS)}.")
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise DataError("P-values must be numbers between 0 and 1.")
    if method == "none":
        return p.copy()
    return multipletests(p, method=method)[1]
