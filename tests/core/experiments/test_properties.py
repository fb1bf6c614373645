"""Properties under simulation: p-values are uniform when there is no effect (A/A tests)
and 95 % intervals cover the true effect about 95 % of the time. Seeded and vectorised
over the replications, so the whole file runs in a few seconds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from core.experiments.analysis import means_test_from_stats, proportions_test

REPS = 1000
#: Coverage of 1,000 intervals at 95 % has a standard error of 0.7 percentage points;
#: ±2 points is about three standard errors.
COVERAGE_TOLERANCE = 0.02


def _aa_conversions(rng, rate=0.1, n=2000):
    x = rng.binomial(n, rate, size=(REPS, 2))
    return [proportions_test(row, [n, n]) for row in x]


def test_aa_conversion_p_values_are_uniform():
    results = _aa_conversions(np.random.default_rng(11))
    p = np.array([r.p_value for r in results])
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.03 < (p < 0.05).mean() < 0.07


def test_aa_welch_p_values_are_uniform_on_skewed_revenue():
    rng = np.random.default_rng(12)
    p = []
    for _ in range(REPS):
        c, t = rng.lognormal(3, 1, 500), rng.lognormal(3, 1, 500)
        p.append(means_test_from_stats(c.mean(), c.std(ddof=1), 500, t.mean(),
                                       t.std(ddof=1), 500).p_value)
    assert stats.kstest(p, "uniform").pvalue > 0.01


def test_conversion_difference_interval_covers_the_truth():
    rng = np.random.default_rng(13)
    n, p0, p1 = 3000, 0.12, 0.135
    x0, x1 = rng.binomial(n, p0, REPS), rng.binomial(n, p1, REPS)
    covered = [lo <= p1 - p0 <= hi for lo, hi in
               (proportions_test([a, b], [n, n]).difference_ci for a, b in zip(x0, x1,
                                                                               strict=True))]
    assert np.mean(covered) == pytest.approx(0.95, abs=COVERAGE_TOLERANCE)


def test_relative_lift_and_welch_intervals_cover_the_truth():
    rng = np.random.default_rng(14)
    n, p0, p1 = 3000, 0.12, 0.135
    x0, x1 = rng.binomial(n, p0, REPS), rng.binomial(n, p1, REPS)
    lift = [proportions_test([a, b], [n, n]).relative_lift_ci for a, b in
            zip(x0, x1, strict=True)]
    assert np.mean([lo <= p1 / p0 - 1 <= hi for lo, hi in lift]) == pytest.approx(
        0.95, abs=COVERAGE_TOLERANCE)
    covered = []
    for _ in range(REPS):
        c, t = rng.normal(10, 4, 200), rng.normal(10.5, 6, 150)
        lo, hi = means_test_from_stats(c.mean(), c.std(ddof=1), 200, t.mean(),
                                       t.std(ddof=1), 150).difference_ci
        covered.append(lo <= 0.5 <= hi)
    assert np.mean(covered) == pytest.approx(0.95, abs=COVERAGE_TOLERANCE)
