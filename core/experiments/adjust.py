"""Variance reduction (CUPED) and the always-valid p-value for people who peek."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.common.errors import DataError
from core.experiments.frequentist import finite_values


@dataclass(frozen=True)
class CupedResult:
    """CUPED adjustment Y - theta (X - mean X), theta pooled over all arms."""

    theta: float
    #: 1 - Var(adjusted) / Var(metric): the share of variance removed (= corr² pooled).
    variance_reduction: float
    covariate_mean: float
    adjusted: np.ndarray


def cuped_theta(metric, covariate) -> tuple[float, float, float]:
    """Return (theta, covariate mean, variance reduction) pooled over every user.

    theta = Cov(Y, X) / Var(X) (Deng, Xu, Kohavi and Walker, "Improving the Sensitivity
    of Online Controlled Experiments by Utilizing Pre-Experiment Data", WSDM 2013).
    Pooling over arms keeps the adjustment the same for every arm, so the adjusted
    difference stays unbiased. Var(Y - theta X) = Var(Y) (1 - corr²), so the variance
    removed is corr(Y, X)².
    """
    y, x = finite_values(metric, "metric"), finite_values(covariate, "pre-period")
    if len(y) != len(x):
        raise DataError("The metric and the pre-period covariate must have one value per "
                        "user.")
    x_mean, y_mean = float(x.mean()), float(y.mean())
    dx = x - x_mean
    var_x = float(np.dot(dx, dx))
    if var_x == 0:
        raise DataError("The pre-period covariate is constant, so it cannot explain any "
                        "variance: choose another column or switch CUPED off.")
    # sum(dx) is 0, so sum(dx * (y - mean y)) = sum(dx * y): no centred copy of y.
    cov = float(np.dot(dx, y))
    var_y = float(np.dot(y, y)) - len(y) * y_mean**2
    reduction = min(1.0, cov * cov / (var_x * var_y)) if var_y > 0 else 0.0
    return cov / var_x, x_mean, reduction


def cuped_adjust(metric, covariate) -> CupedResult:
    """Adjust a per-user metric with its pre-period value (see :func:`cuped_theta`)."""
    y, x = np.asarray(metric, dtype=float), np.asarray(covariate, dtype=float)
    theta, x_mean, reduction = cuped_theta(y, x)
    return CupedResult(theta, reduction, x_mean, y - theta * (x - x_mean))


def msprt_p_value(difference, se, tau: float) -> np.ndarray:
    """Always-valid p-values of a sequence of looks (mixture SPRT, normal mixture).

    Johari, Pekelis and Walsh, "Always Valid Inference: Continuous Monitoring of A/B
    Tests" (Operations Research, 2022): with the estimate d_n, its variance s_n² and a
    N(0, tau²) mixture over the effect, the likelihood ratio is

        L_n = sqrt(s_n² / (s_n² + tau²)) exp(tau² d_n² / (2 s_n² (s_n² + tau²)))

    and p_n = min(1, min_{m <= n} 1 / L_m). Valid however often one looks.

    Parameters
    ----------
    difference, se : array-like
        Estimates and standard errors at each look, in time order.
    tau : float
        Scale of the effects one expects (same unit as the difference).
    """
    d = np.atleast_1d(np.asarray(difference, dtype=float))
    s2 = np.atleast_1d(np.asarray(se, dtype=float)) ** 2
    if tau <= 0:
        raise DataError("The mixture scale tau must be positive.")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_l = 0.5 * np.log(s2 / (s2 + tau**2)) + tau**2 * d**2 / (2 * s2 * (s2 + tau**2))
    log_l = np.where(np.isfinite(log_l), log_l, 0.0)  # no data yet: no evidence
    return np.minimum.accumulate(np.minimum(1.0, np.exp(-log_l)))
