"""Planning an experiment: users per variant, the minimum detectable effect, days needed.

Proportions follow R's ``power.prop.test`` (strict = FALSE): the variance under H0 is
pooled, 2 p̄ (1 - p̄) with p̄ = (p1 + p2) / 2, and unpooled under H1, p1 q1 + p2 q2:

    power = Φ((sqrt(n) |p2 - p1| - z_α sqrt(2 p̄ q̄)) / sqrt(p1 q1 + p2 q2))

so n = (z_α sqrt(2 p̄ q̄) + z_β sqrt(p1 q1 + p2 q2))² / (p2 - p1)².
Numeric metrics follow R's ``power.t.test`` (two-sample t, equal sizes), computed by
statsmodels' ``TTestIndPower``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from core.common.errors import ConfigError
from core.experiments.frequentist import check_alpha, normalise_alternative


@dataclass(frozen=True)
class Plan:
    """Users and days an experiment needs."""

    users_per_variant: int
    total_users: int
    days: int | None
    baseline: float
    target: float
    absolute_effect: float
    relative_effect: float
    convention: str


def _z_alpha(alpha: float, alternative: str) -> float:
    sides = 1 if normalise_alternative(alternative) != "two-sided" else 2
    return float(stats.norm.ppf(1 - check_alpha(alpha) / sides))


def _check_power(power: float) -> float:
    if not 0 < float(power) < 1:
        raise ConfigError(f"Power {power} must be between 0 and 1 (e.g. 0.8).")
    return float(power)


def _target_rate(baseline: float, mde: float, relative: bool) -> float:
    if not 0 < baseline < 1:
        raise ConfigError(f"The baseline rate {baseline} must be between 0 and 1 "
                          "(e.g. 0.12 for 12 %).")
    if mde == 0:
        raise ConfigError("The minimum detectable effect cannot be 0.")
    target = baseline * (1 + mde) if relative else baseline + mde
    if not 0 < target < 1:
        raise ConfigError(f"Baseline {baseline:g} with an effect of {mde:g}"
                          f"{' (relative)' if relative else ''} gives a rate of "
                          f"{target:g}, outside 0-1: choose a smaller effect.")
    return target


def power_proportions(baseline: float, target: float, n: float, alpha: float = 0.05,
                      alternative: str = "two-sided") -> float:
    """Power of the pooled z-test with n users per variant (R's power.prop.test)."""
    p1, p2 = baseline, target
    p_bar = (p1 + p2) / 2
    num = math.sqrt(n) * abs(p2 - p1) - _z_alpha(alpha, alternative) * math.sqrt(
        2 * p_bar * (1 - p_bar))
    return float(stats.norm.cdf(num / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))))


def sample_size_proportions(baseline: float, mde: float, relative: bool = False,
                            alpha: float = 0.05, power: float = 0.8,
                            alternative: str = "two-sided") -> float:
    """Users per variant to detect a change of a conversion rate.

    Parameters
    ----------
    baseline : float
        Control conversion rate, e.g. 0.12.
    mde : float
        Minimum detectable effect: absolute (0.01 = one percentage point) or, with
        ``relative=True``, relative (0.1 = +10 %).
    alpha, power : float
        Significance level and power.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    float
        Users per variant, not rounded (round up for the plan).
    """
    p1, p2 = baseline, _target_rate(baseline, mde, relative)
    power = _check_power(power)
    p_bar = (p1 + p2) / 2
    root = (_z_alpha(alpha, alternative) * math.sqrt(2 * p_bar * (1 - p_bar))
            + float(stats.norm.ppf(power)) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
    return float(root**2 / (p2 - p1) ** 2)


def mde_proportions(baseline: float, n: float, alpha: float = 0.05, power: float = 0.8,
                    alternative: str = "two-sided") -> float:
    """Smallest upward absolute change detectable with n users per variant."""
    _target_rate(baseline, 1e-9, False)
    power = _check_power(power)
    if n <= 0:
        raise ConfigError("The number of users per variant must be positive.")
    hi = 1 - 1e-12
    if power_proportions(baseline, hi, n, alpha, alternative) < power:
        return float("nan")  # not even a rate of 100 % would be detected
    target = optimize.brentq(
        lambda p2: power_proportions(baseline, p2, n, alpha, alternative) - power,
        baseline + 1e-12, hi, xtol=1e-12)
    return float(target - baseline)


def sample_size_means(sd: float, mde: float, alpha: float = 0.05, power: float = 0.8,
                      alternative: str = "two-sided") -> float:
    """Users per variant to detect a change of ``mde`` in a mean with standard deviation
    ``sd`` (two-sample t-test, R's power.t.test)."""
    from statsmodels.stats.power import TTestIndPower

    if sd <= 0 or mde == 0:
        raise ConfigError("The standard deviation must be positive and the effect not 0.")
    alt = {"two-sided": "two-sided", "greater": "larger", "less": "larger"}[
        normalise_alternative(alternative)]
    return float(TTestIndPower().solve_power(effect_size=abs(mde) / sd, alpha=check_alpha(alpha),
                                             power=_check_power(power), alternative=alt))


def mde_means(sd: float, n: float, alpha: float = 0.05, power: float = 0.8,
              alternative: str = "two-sided") -> float:
    """Smallest change of a mean detectable with n users per variant."""
    from statsmodels.stats.power import TTestIndPower

    if sd <= 0 or n < 2:
        raise ConfigError("Need a positive standard deviation and at least 2 users.")
    alt = "two-sided" if normalise_alternative(alternative) == "two-sided" else "larger"
    effect = TTestIndPower().solve_power(nobs1=n, alpha=check_alpha(alpha),
                                         power=_check_power(power), alternative=alt)
    return float(np.atleast_1d(effect)[0] * sd)


def days_needed(users_per_variant: float, variants: int, daily_users: float | None
                ) -> int | None:
    """Days of traffic to fill every variant, or None without a traffic figure."""
    if not daily_users:
        return None
    if daily_users < 0:
        raise ConfigError("Daily traffic cannot be negative.")
    return math.ceil(math.ceil(users_per_variant) * variants / daily_users)


def plan_proportions(baseline: float, mde: float, relative: bool = False,
                     alpha: float = 0.05, power: float = 0.8,
                     alternative: str = "two-sided", variants: int = 2,
                     daily_users: float | None = None) -> Plan:
    """Users per variant, total and days for a conversion metric."""
    n = math.ceil(sample_size_proportions(baseline, mde, relative, alpha, power, alternative))
    target = _target_rate(baseline, mde, relative)
    return Plan(n, n * variants, days_needed(n, variants, daily_users), baseline, target,
                target - baseline, target / baseline - 1,
                "R power.prop.test: pooled variance under H0, unpooled under H1")


def plan_means(mean: float, sd: float, mde: float, relative: bool = False,
               alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided",
               variants: int = 2, daily_users: float | None = None) -> Plan:
    """Users per variant, total and days for a numeric metric."""
    absolute = mde * mean if relative else mde
    n = math.ceil(sample_size_means(sd, absolute, alpha, power, alternative))
    return Plan(n, n * variants, days_needed(n, variants, daily_users), mean,
                mean + absolute, absolute, absolute / mean if mean else float("nan"),
                "R power.t.test: two-sample t-test, equal group sizes")
