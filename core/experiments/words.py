"""Words and tables for an analysed experiment: one plain sentence per metric, the
conventions used, a table with every number, and a JSON-ready summary."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from core.experiments.compare import MetricComparison
from core.experiments.frequentist import (
    MIN_OUTCOMES_PER_ARM,
    MIN_USERS_PER_ARM,
    normalise_alternative,
)
from core.experiments.inputs import ExperimentSpec

CORRECTION_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni",
                    "fdr_bh": "Benjamini-Hochberg", "none": "no"}
#: Column names that mean "conversion" and read better as that word.
_CONVERSION_WORDS = {"converted", "conversion", "conversions", "is_converted"}


def metric_label(name: str, kind: str) -> str:
    """'conversion' for a converted flag, 'mean revenue' for a numeric metric."""
    words = name.replace("_", " ")
    if kind == "conversion":
        return "conversion" if name.lower() in _CONVERSION_WORDS else f"{words} rate"
    return f"mean {words}"


def fmt_value(value: float, kind: str) -> str:
    """12.0 % for rates, 10.25 for means."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value * 100:.1f} %" if kind == "conversion" else f"{value:,.2f}"


def fmt_pct(value: float, signed: bool = True) -> str:
    """+11.7 %."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value * 100:+.1f} %" if signed else f"{value * 100:.1f} %"


def fmt_p(p: float) -> str:
    """p = 0.004, or p < 0.001."""
    if not math.isfinite(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _interval_text(ci: tuple[float, float], level: float) -> str:
    lo, hi = ci
    if math.isinf(hi) and math.isfinite(lo):
        return f"{level:.0f} % lower bound {fmt_pct(lo)}"
    if math.isinf(lo) and math.isfinite(hi):
        return f"{level:.0f} % upper bound {fmt_pct(hi)}"
    return f"{level:.0f} % CI {fmt_pct(lo)} to {fmt_pct(hi)}"


def srm_alarm(p_value: float) -> str:
    """The sample-ratio alarm as it is printed next to the verdict."""
    return (f"Sample ratio mismatch (p = {p_value:.2g}): the split is not what was planned; "
            "do not trust this result")


def _effect_text(row: MetricComparison, level: float) -> str:
    """The relative lift with its interval, or why there is none."""
    if not row.estimable:
        return "; too few users to estimate the change (interval n/a)"
    if not math.isfinite(row.relative_lift):
        return ""
    return (f"{'' if row.cuped_theta is not None else ','} {fmt_pct(row.relative_lift)} "
            f"relative ({_interval_text(row.relative_lift_ci, level)})")


def sentence(row: MetricComparison, spec: ExperimentSpec, alarm: str | None = None) -> str:
    """One plain sentence: what changed, by how much, with what certainty.

    ``alarm`` (e.g. :func:`srm_alarm`) is written into the sentence, so that a
    significant result of a broken experiment never reads as a plain win.
    """
    label = metric_label(row.metric, row.kind)
    verb = ("raises" if row.difference > 0 else "lowers" if row.difference < 0
            else "does not change")
    level = (1 - spec.alpha) * 100
    text = (f"{row.variant} {verb} {label} from {fmt_value(row.control_value, row.kind)} "
            f"to {fmt_value(row.treatment_value, row.kind)}")
    if row.cuped_theta is not None and row.estimable:
        change = (f"variance {fmt_pct(row.variance_reduction, signed=False)} lower"
                  if row.variance_reduction >= 0
                  else f"variance {fmt_pct(-row.variance_reduction, signed=False)} higher")
        text += f"; adjusted for the pre-period (CUPED, {change}) the effect is"
    text += _effect_text(row, level)
    p = row.p_value if row.family_size == 1 else row.p_adjusted
    exact = "Fisher's exact " if row.test.startswith("Fisher") else ""
    text += f", {exact}{fmt_p(row.p_value)}"
    verdict = "significant" if row.significant else "not significant"
    text += f", {verdict} at α = {spec.alpha:g}"
    if row.family_size > 1 and spec.correction != "none":
        text += f" after {CORRECTION_NAMES[spec.correction]} correction"
        if abs(p - row.p_value) > 1e-12:
            text += f" (adjusted {fmt_p(p)})"
    if alarm:
        return f"{text} — but {alarm[0].lower()}{alarm[1:]}."
    return text + "."


def conventions(spec: ExperimentSpec, kinds: set[str], has_cuped: bool, k: int) -> list[str]:
    """Names of the conventions behind the numbers, shown next to the results."""
    alt = normalise_alternative(spec.alternative)
    sides = {"two-sided": "Two-sided tests and intervals",
             "greater": "One-sided: H1 treatment > control (one-sided intervals)",
             "less": "One-sided: H1 treatment < control (one-sided intervals)"}[alt]
    items = ["Difference and lift are treatment minus control (index 0 is the control)",
             sides, f"α = {spec.alpha:g}; intervals at {(1 - spec.alpha) * 100:g} %"]
    if "conversion" in kinds:
        items += ["Conversion: two-proportion z-test with the pooled standard error under "
                  "H0 (= Pearson chi-square without Yates correction)",
                  "Difference interval: " + ("Newcombe hybrid score (method 10)"
                                             if spec.interval == "newcombe"
                                             else "unpooled (Wald) standard error"),
                  "Per-variant rates: Wilson score interval",
                  "Relative lift: delta-method interval including the control's variance"]
        if k > 2:
            items.append(f"Across all {k} variants: Pearson chi-square, {k - 1} df")
    if "mean" in kinds:
        items.append("Numeric metrics: Welch's t-test, Welch-Satterthwaite degrees of "
                     "freedom")
        if spec.rank_test and spec.layout == "per_user":
            items.append("Rank test: Mann-Whitney U of the control, normal approximation "
                         "with tie and continuity correction (exact below 50 per group "
                         "without ties)")
        if spec.bootstrap:
            items.append("Bootstrap: percentile interval, 2,000 resamples")
    if has_cuped:
        items.append("CUPED: θ = Cov(Y, X) / Var(X) pooled over all arms; Welch's t-test "
                     "on Y − θ(X − mean X)")
    items.append(f"Too few users: below {MIN_USERS_PER_ARM} users in an arm"
                 + (f", or {MIN_OUTCOMES_PER_ARM} conversions or non-conversions"
                    if "conversion" in kinds else "")
                 + ", no interval is given" + ("; rates then use Fisher's exact test"
                                               if "conversion" in kinds else ""))
    if spec.layout == "per_user":
        items.append(f"Users: one per '{spec.user_col}' (repeated rows: conversion = any, "
                     "numbers summed; users in several variants left out)"
                     if spec.user_col else "Users: one per row (no user id column)")
    family = "per metric" if spec.family == "per_metric" else "over all metrics"
    items.append(f"Multiple comparisons: {CORRECTION_NAMES[spec.correction]} correction, "
                 f"family {family}")
    items.append("Sample ratio: chi-square goodness of fit against the planned split; "
                 "alarm below p = 0.001")
    if "conversion" in kinds:
        items.append(f"Bayesian: Beta({spec.prior[0]:g}, {spec.prior[1]:g}) prior, exact "
                     "P(variant beats control), expected loss")
    if spec.sequential:
        items.append("Sequential p-value: mixture SPRT (always valid), N(0, τ²) mixture "
                     "with τ = 10 % of the control mean")
    return items


def comparison_table(rows: list[MetricComparison]) -> pd.DataFrame:
    """Every number of every comparison, one row per metric x treatment."""
    records = []
    for r in rows:
        records.append({
            "metric": r.metric, "kind": r.kind, "control": r.control, "variant": r.variant,
            "control_users": r.control_n, "variant_users": r.treatment_n,
            "control_value": r.control_value, "variant_value": r.treatment_value,
            "difference": r.difference, "difference_ci_low": r.difference_ci[0],
            "difference_ci_high": r.difference_ci[1], "relative_lift": r.relative_lift,
            "relative_lift_ci_low": r.relative_lift_ci[0],
            "relative_lift_ci_high": r.relative_lift_ci[1], "statistic": r.statistic,
            "dof": r.dof, "p_value": r.p_value, "p_adjusted": r.p_adjusted,
            "significant": r.significant, "family_size": r.family_size, "test": r.test,
            "interval": r.interval, "fisher_p": r.fisher_p, "rank_u": r.rank_u,
            "rank_p": r.rank_p,
            "bootstrap_ci_low": r.bootstrap_ci[0] if r.bootstrap_ci else None,
            "bootstrap_ci_high": r.bootstrap_ci[1] if r.bootstrap_ci else None,
            "cuped_theta": r.cuped_theta, "variance_reduction": r.variance_reduction,
            "unadjusted_p": r.unadjusted_p, "sequential_p": r.sequential_p,
            "prob_beats_control": r.prob_beats_control, "expected_loss": r.expected_loss,
            "estimable": r.estimable})
    return pd.DataFrame.from_records(records)


def json_ready(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Records with NaN and infinities as None and numpy scalars as Python numbers."""
    out = []
    for record in table.to_dict("records"):
        clean = {}
        for key, value in record.items():
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            clean[str(key)] = value
        out.append(clean)
    return out
