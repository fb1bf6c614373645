"""Bayesian view of conversion rates: Beta posteriors, the exact probability that a
variant beats the control, and the expected loss of choosing it.

P(p_B > p_A) for independent Beta posteriors has a closed form (Evan Miller, "Formulas
for Bayesian A/B Testing", 2015) when one of the four Beta parameters is an integer:

    P(p_B > p_A) = sum_{i=0}^{a_B - 1} B(a_A + i, b_A + b_B)
                   / ((b_B + i) B(1 + i, b_B) B(a_A, b_A))

summed in logs. Otherwise it is integrated numerically (integral of pdf_B * cdf_A).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats
from scipy.special import betainc, betaln, logsumexp

from core.common.errors import ConfigError
from core.experiments.frequentist import _counts

#: The sum has one term per unit of the integer parameter; beyond this many terms the
#: numeric integral (adaptive quadrature, absolute error below 1e-8) is as exact and faster.
MAX_TERMS = 50_000


@dataclass(frozen=True)
class BayesianResult:
    """Posteriors of each variant's rate (index 0 is the control)."""

    prior: tuple[float, float]
    alpha: list[float]
    beta: list[float]
    #: P(rate of variant > rate of control); 0.5 for the control itself.
    prob_beats_control: list[float]
    #: E[max(control - variant, 0)]: the rate given up by shipping the variant.
    expected_loss: list[float]
    #: E[max(variant - control, 0)]: the rate given up by keeping the control.
    expected_loss_control: list[float]
    credible_intervals: list[tuple[float, float]]


def _is_int(value: float) -> bool:
    return float(value).is_integer() and value >= 1


def _closed_form(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    """Evan Miller's sum over i < a_b (a_b a positive integer)."""
    i = np.arange(int(a_b), dtype=float)
    terms = (betaln(a_a + i, b_a + b_b) - np.log(b_b + i) - betaln(1 + i, b_b)
             - betaln(a_a, b_a))
    return float(np.clip(np.exp(logsumexp(terms)), 0.0, 1.0))


def _integral(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    """Integral over [0, 1] of pdf_B(x) cdf_A(x), by adaptive quadrature."""
    log_norm_b = betaln(a_b, b_b)

    def integrand(x: float) -> float:
        if x <= 0.0 or x >= 1.0:
            return 0.0
        log_pdf = (a_b - 1) * np.log(x) + (b_b - 1) * np.log1p(-x) - log_norm_b
        return float(np.exp(log_pdf) * betainc(a_a, b_a, x))

    # Tell quad where the mass is: narrow posteriors are otherwise missed.
    points = sorted({float(stats.beta.ppf(q, a_b, b_b)) for q in (1e-9, 0.25, 0.5, 0.75,
                                                                   1 - 1e-9)}
                    | {float(stats.beta.ppf(q, a_a, b_a)) for q in (1e-9, 0.5, 1 - 1e-9)})
    value, _ = integrate.quad(integrand, 0.0, 1.0, points=points, limit=500, epsabs=1e-12)
    return float(np.clip(value, 0.0, 1.0))


def prob_b_beats_a(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    """Exact P(p_B > p_A) for p_A ~ Beta(a_a, b_a) and p_B ~ Beta(a_b, b_b)."""
    # Each integer parameter gives a closed form: directly (a_b), by complement (a_a),
    # or on the failure rates 1 - p, whose Betas swap their parameters (b_a, b_b).
    options = []
    if _is_int(a_b):
        options.append((a_b, lambda: _closed_form(a_a, b_a, a_b, b_b)))
    if _is_int(a_a):
        options.append((a_a, lambda: 1.0 - _closed_form(a_b, b_b, a_a, b_a)))
    if _is_int(b_a):
        options.append((b_a, lambda: _closed_form(b_b, a_b, b_a, a_a)))
    if _is_int(b_b):
        options.append((b_b, lambda: 1.0 - _closed_form(b_a, a_a, b_b, a_b)))
    options = [o for o in options if o[0] <= MAX_TERMS]
    if not options:
        return _integral(a_a, b_a, a_b, b_b)
    return min(options, key=lambda o: o[0])[1]()


def expected_loss(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    """E[max(p_A - p_B, 0)]: what choosing B costs when A is in fact better.

    Uses x f(x; a, b) = a / (a + b) f(x; a + 1, b), so
    E[p_A 1{p_A > p_B}] = mean_A P(Beta(a_a + 1, b_a) > p_B), and likewise for p_B.
    """
    mean_a, mean_b = a_a / (a_a + b_a), a_b / (a_b + b_b)
    loss = (mean_a * prob_b_beats_a(a_b, b_b, a_a + 1, b_a)
            - mean_b * prob_b_beats_a(a_b + 1, b_b, a_a, b_a))
    return float(max(loss, 0.0))


def _check_prior(prior: Sequence[float]) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise ConfigError("The prior is two numbers (alpha, beta), e.g. (1, 1).") from None
    if not (np.isfinite([a, b]).all() and a > 0 and b > 0):
        raise ConfigError(f"Beta prior parameters must be positive; got ({a:g}, {b:g}).")
    return a, b


def bayesian_proportions(conversions: Sequence[float], users: Sequence[float],
                         prior: Sequence[float] = (1, 1), level: float = 0.95
                         ) -> BayesianResult:
    """Beta posteriors, P(beats control) and expected losses for each variant."""
    a0, b0 = _check_prior(prior)
    x, n = _counts(conversions, users)
    alphas, betas = a0 + x, b0 + n - x
    beats, loss, loss_c = [], [], []
    for a, b in zip(alphas, betas, strict=True):
        beats.append(prob_b_beats_a(alphas[0], betas[0], a, b))
        loss.append(expected_loss(alphas[0], betas[0], a, b))
        loss_c.append(expected_loss(a, b, alphas[0], betas[0]))
    tail = (1 - level) / 2
    cis = [(float(stats.beta.ppf(tail, a, b)), float(stats.beta.ppf(1 - tail, a, b)))
           for a, b in zip(alphas, betas, strict=True)]
    return BayesianResult((a0, b0), list(map(float, alphas)), list(map(float, betas)),
                          beats, loss, loss_c, cis)


def prob_beats_control(conversions: Sequence[float], users: Sequence[float],
                       prior: Sequence[float] = (1, 1)) -> np.ndarray:
    """Exact P(variant's rate > control's rate) under Beta(prior) priors.

    Parameters
    ----------
    conversions, users : sequence of numbers
        Per variant, control first.
    prior : (alpha, beta)
        The same Beta prior for every variant; Beta(1, 1) is uniform.

    Returns
    -------
    numpy.ndarray
        One probability per variant; the control's own entry is 0.5.
    """
    return np.array(bayesian_proportions(conversions, users, prior).prob_beats_control)
