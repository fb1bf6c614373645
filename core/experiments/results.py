"""The results row of an analysed experiment: one line per metric x variant that a reader
can trust at a glance (in the manner of GrowthBook's results table).

Each :class:`ResultRow` holds the control's and the variant's value with its interval
(Wilson for rates, t for means, as in ``ExperimentAnalysis.arms``), the difference with
its interval, the relative lift, the p-value that decides (the corrected one when a
correction applies, named), the chance to beat control, the direction ("win", "loss",
"inconclusive") read against the metric's good direction, the smallest effect this
test could detect with its users, and a sentence when the p-value and the chance to beat
control seem to disagree. Caveats (sample ratio mismatch, too few users, outcomes
recorded before a rule existed) downgrade a win or a loss to "doubtful" without hiding
its direction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from core.common.errors import PersonaLensError
from core.experiments.breakdown import simpson_sentence
from core.experiments.compare import MetricComparison
from core.experiments.frequentist import normalise_alternative
from core.experiments.planning import mde_means, mde_proportions
from core.experiments.words import CORRECTION_NAMES, fmt_p, metric_label

if TYPE_CHECKING:
    from core.experiments.analysis import ExperimentAnalysis

Direction = Literal["win", "loss", "inconclusive"]
#: The power the smallest detectable effect is stated at: the usual planning value.
DEFAULT_POWER = 0.8
#: Words in a metric's name that say a lower value is better (bounce rate, churn,
#: refunds, load time...); every other metric is better higher (revenue, conversion).
LOWER_IS_BETTER_WORDS = frozenset({
    "bounce", "bounced", "churn", "churned", "cancel", "cancelled", "canceled",
    "cancellation", "cancellations", "refund", "refunded", "refunds", "return",
    "returned", "returns", "abandon", "abandoned", "abandonment", "unsubscribe",
    "unsubscribed", "complaint", "complaints", "error", "errors", "crash", "crashes",
    "latency", "load", "cost", "costs", "exit", "exits"})
_WORDS = re.compile(r"[a-z]+")

#: Material icons and colours of a direction (Streamlit's colour names).
ICONS = {"win": ":material/trending_up:", "loss": ":material/trending_down:",
         "inconclusive": ":material/remove:", "doubtful": ":material/warning:"}
COLOURS = {"win": "green", "loss": "red", "inconclusive": "gray", "doubtful": "orange"}
LABELS = {"win": "Win", "loss": "Loss", "inconclusive": "Inconclusive",
          "doubtful": "Doubtful"}


def higher_is_better(metric: str, lower_is_better: Collection[str] | None = None) -> bool:
    """False for metrics named in ``lower_is_better``, or (when that is None) whose name
    has a word of :data:`LOWER_IS_BETTER_WORDS`; True otherwise."""
    if lower_is_better is not None:
        return metric not in lower_is_better
    return not (set(_WORDS.findall(metric.lower())) & LOWER_IS_BETTER_WORDS)


def chance_to_beat_normal(difference: float, standard_error: float) -> float:
    """P(variant's mean > control's mean) under a flat prior on the difference and a
    normal likelihood: the posterior of the difference is N(difference, se²), so the
    probability is Φ(difference / se)."""
    if not (math.isfinite(difference) and math.isfinite(standard_error)):
        return float("nan")
    if standard_error <= 0:
        return 0.5 if difference == 0 else float(difference > 0)
    return float(stats.norm.cdf(difference / standard_error))


@dataclass(frozen=True)
class Detectable:
    """The smallest true change this test would find significant with ``power``."""

    absolute: float
    relative: float
    power: float
    users_per_variant: int
    convention: str
    #: "two-sided", "greater" or "less": the change is either way, a rise or a fall.
    alternative: str = "two-sided"


def detectable_change(row: MetricComparison, sd: float | None, alpha: float,
                      alternative: str, power: float = DEFAULT_POWER) -> Detectable | None:
    """The minimum detectable effect of this test at its current size.

    Rates: R's ``power.prop.test`` (:func:`core.experiments.planning.mde_proportions`)
    at the control's rate. Means: the two-sample t-test (``power.t.test``,
    :func:`core.experiments.planning.mde_means`) with ``sd`` (the arms' root mean square
    standard deviation), shrunk by the CUPED variance reduction when the metric was
    adjusted. Both with the smaller arm's users and the uncorrected α. None when it cannot
    be computed (a rate of 0 or 1, no spread, fewer than 2 users).
    """
    n = min(row.control_n, row.treatment_n)
    try:
        if row.kind == "conversion":
            absolute = mde_proportions(row.control_value, n, alpha, power, alternative)
            how = "R power.prop.test at the control's rate, the smaller arm's users"
        else:
            spread = float(sd or 0.0)
            if row.variance_reduction:
                spread *= math.sqrt(max(1.0 - row.variance_reduction, 0.0))
            absolute = mde_means(spread, n, alpha, power, alternative)
            how = ("R power.t.test with the arms' standard deviation"
                   + (" after CUPED" if row.variance_reduction else "")
                   + ", the smaller arm's users")
    except PersonaLensError:
        return None
    if not math.isfinite(absolute):
        return None
    relative = absolute / abs(row.control_value) if row.control_value else float("nan")
    return Detectable(float(absolute), float(relative), power, int(n), how,
                      normalise_alternative(alternative))


@dataclass(frozen=True)
class ResultRow:
    """One metric x variant against the control, as the results row shows it."""

    metric: str
    label: str
    kind: str
    control: str
    variant: str
    control_n: int
    variant_n: int
    control_value: float
    control_ci: tuple[float, float]
    variant_value: float
    variant_ci: tuple[float, float]
    #: "Wilson" (rates) or "t" (means).
    value_interval: str
    difference: float
    difference_ci: tuple[float, float]
    relative_lift: float
    relative_lift_ci: tuple[float, float]
    #: The p-value that decides significance, and its name ("p", "Holm-adjusted p").
    p_value: float
    p_name: str
    raw_p_value: float
    significant: bool
    #: P(variant is better than control), in the metric's good direction; None when
    #: it cannot be computed (every user with the same outcome).
    chance_to_beat: float | None
    chance_convention: str
    higher_is_better: bool
    direction: Direction
    detectable: Detectable | None
    #: Why the p-value and the chance to beat control seem to disagree, or None.
    disagreement: str | None
    #: Reasons not to trust the direction (shown with it).
    caveats: tuple[str, ...] = ()
    cuped: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> str:
        """The direction, or "doubtful" for a win or loss with a caveat."""
        return "doubtful" if self.caveats and self.direction != "inconclusive" \
            else self.direction

    @property
    def icon(self) -> str:
        return ICONS[self.status]

    @property
    def colour(self) -> str:
        return COLOURS[self.status]

    @property
    def badge(self) -> str:
        """The status in words: "Win", "Loss", "Inconclusive", "Doubtful win"..."""
        if self.status == "doubtful":
            return f"Doubtful {self.direction}"
        return LABELS[self.status]

    def detectable_size(self) -> str:
        """'±2.44 pp' (rates) or '±1.73' (means); 'n/a' when it cannot be computed."""
        d = self.detectable
        if d is None:
            return "n/a"
        sign = {"two-sided": "±", "greater": "+", "less": "−"}[d.alternative]
        return (f"{sign}{d.absolute * 100:.2f} pp" if self.kind == "conversion"
                else f"{sign}{d.absolute:,.3g}")

    def detectable_text(self) -> str:
        """'this test could detect a change of ±1.8 pp (relative 12 %) with 80 % power'."""
        d = self.detectable
        if d is None:
            return "the smallest detectable change cannot be computed for this metric"
        relative = f" (relative {d.relative * 100:.0f} %)" if math.isfinite(d.relative) else ""
        return (f"this test could detect a change of {self.detectable_size()}{relative} "
                f"with {d.power * 100:.0f} % power")

    def to_dict(self) -> dict:
        """JSON-ready fields (for the workspace summary)."""
        d = self.detectable
        return {"metric": self.metric, "variant": self.variant, "direction": self.direction,
                "status": self.status, "p_value": self.p_value, "p_name": self.p_name,
                "chance_to_beat": self.chance_to_beat,
                "higher_is_better": self.higher_is_better,
                "mde_absolute": d.absolute if d else None,
                "mde_relative": d.relative if d and math.isfinite(d.relative) else None,
                "disagreement": self.disagreement, "caveats": list(self.caveats)}


def direction_of(difference: float, significant: bool, better_higher: bool) -> Direction:
    """Win or loss when significant, by the sign of the difference and the metric's good
    direction; inconclusive otherwise."""
    if not significant or not math.isfinite(difference) or difference == 0:
        return "inconclusive"
    return "win" if (difference > 0) == better_higher else "loss"


def disagreement_sentence(significant: bool, p_value: float, p_name: str,
                          chance: float | None, alpha: float, prior_words: str,
                          corrected: bool) -> str | None:
    """A sentence when the p-value and the chance to beat control point different ways.

    They disagree when the test is not significant but the chance to beat control is at
    least 1 − α (or at most α), or when it is significant but the chance lies between.
    """
    if chance is None or not math.isfinite(chance) or not math.isfinite(p_value):
        return None
    decisive = chance >= 1 - alpha or chance <= alpha
    if significant == decisive:
        return None
    p_text = fmt_p(p_value).replace("p ", f"{p_name} ", 1)
    state = "significant" if significant else "not significant"
    why = " (the correction for several comparisons raises it)" if corrected else ""
    return (f"{p_text} is {state}, yet the chance to beat control is "
            f"{chance * 100:.1f} %: the p-value asks how surprising a difference this "
            f"large would be if the variant had no effect{why}; chance to beat control is "
            f"the posterior probability that the variant is better, under {prior_words}. "
            "They answer different questions.")


def _arm_value(analysis: ExperimentAnalysis, metric: str, variant: str
               ) -> tuple[float, tuple[float, float], str, float]:
    arms = analysis.arms
    hit = arms[(arms["metric"] == metric) & (arms["variant"] == variant)]
    if hit.empty:
        return float("nan"), (float("nan"), float("nan")), "", float("nan")
    arm = hit.iloc[0]
    return (float(arm["value"]), (float(arm["ci_low"]), float(arm["ci_high"])),
            str(arm["interval"]), float(arm["sd"]))


def _prior_words(prior: Sequence[float]) -> str:
    a, b = (float(v) for v in prior)
    return ("a flat Beta(1, 1) prior" if (a, b) == (1.0, 1.0)
            else f"a Beta({a:g}, {b:g}) prior")


def results_rows(analysis: ExperimentAnalysis, lower_is_better: Collection[str] | None = None,
                 caveats: Sequence[str] = (), power: float = DEFAULT_POWER
                 ) -> list[ResultRow]:
    """The results row of every metric x variant of an analysis, in its order.

    Parameters
    ----------
    analysis : ExperimentAnalysis
    lower_is_better : collection of str, optional
        Metrics for which a lower value is better; None reads it from each name
        (:func:`higher_is_better`).
    caveats : sequence of str
        Reasons not to trust any verdict of this test (e.g. outcomes recorded before the
        rule existed); the sample ratio alarm and too few users are added here.
    power : float
        Power of the smallest detectable change.
    """
    spec = analysis.spec
    alternative = normalise_alternative(spec.alternative)
    common = list(caveats)
    if analysis.srm_alarm:
        common.append(f"sample ratio mismatch (p = {analysis.srm.p_value:.2g})")
    rows = []
    for r in analysis.comparisons:
        better_higher = higher_is_better(r.metric, lower_is_better)
        c_value, c_ci, how, c_sd = _arm_value(analysis, r.metric, r.control)
        v_value, v_ci, _, v_sd = _arm_value(analysis, r.metric, r.variant)
        corrected = r.family_size > 1 and spec.correction != "none"
        p = r.p_adjusted if corrected and math.isfinite(r.p_adjusted) else r.p_value
        p_name = f"{CORRECTION_NAMES[spec.correction]}-adjusted p" if corrected else "p"
        if r.kind == "conversion":
            up = r.prob_beats_control
            convention = (f"Beta posterior of each rate, {_prior_words(spec.prior)}, exact "
                          "P(variant's rate > control's)")
            prior_words = _prior_words(spec.prior)
        else:
            up = chance_to_beat_normal(r.difference, r.standard_error)
            convention = ("normal approximation: flat prior on the difference, posterior "
                          "N(difference, standard error²)"
                          + (" of the CUPED-adjusted metric" if r.cuped_theta is not None
                             else ""))
            prior_words = "a flat prior on the difference (normal approximation)"
        chance = None if up is None or not math.isfinite(up) else (
            up if better_higher else 1.0 - up)
        sd = (math.sqrt((c_sd**2 + v_sd**2) / 2)
              if math.isfinite(c_sd) and math.isfinite(v_sd) else None)
        row_caveats = list(common)
        if not r.estimable:
            row_caveats.append("too few users to estimate the change")
        notes = ()
        if r.cuped_theta is not None:
            notes = ("difference adjusted for the pre-period (CUPED); the values per "
                     "variant are the raw means",)
        rows.append(ResultRow(
            r.metric, metric_label(r.metric, r.kind), r.kind, r.control, r.variant,
            r.control_n, r.treatment_n, c_value, c_ci, v_value, v_ci, how, r.difference,
            r.difference_ci, r.relative_lift, r.relative_lift_ci, float(p), p_name,
            float(r.p_value), bool(r.significant), chance, convention, better_higher,
            direction_of(r.difference, r.significant, better_higher),
            detectable_change(r, sd, spec.alpha, alternative, power),
            disagreement_sentence(r.significant, float(p), p_name, chance, spec.alpha,
                                  prior_words, corrected),
            tuple(row_caveats), r.cuped_theta is not None, notes))
    return rows


@dataclass(frozen=True)
class SampleRatio:
    """The sample-ratio check in one line."""

    alarm: bool
    p_value: float
    text: str


def sample_ratio_line(analysis: ExperimentAnalysis) -> SampleRatio:
    """'sample ratio OK (p = 0.42 against the planned split)', or the alarm."""
    srm = analysis.srm
    split = ", ".join(f"{name} {share * 100:g} %" for name, share
                      in zip(analysis.variants, srm.planned_shares, strict=True))
    observed = ", ".join(f"{name} {n:,}" for name, n
                         in zip(analysis.variants, srm.observed, strict=True))
    if analysis.srm_alarm:
        return SampleRatio(True, srm.p_value, (
            f"Sample ratio mismatch (p = {srm.p_value:.2g} against the planned split "
            f"{split}; users {observed}): assignment or logging is broken, so no result "
            "of this test can be trusted until the cause is found."))
    return SampleRatio(False, srm.p_value, (
        f"Sample ratio OK (p = {srm.p_value:.2f} against the planned split {split}; "
        f"users {observed})."))


def interval_text(ci: tuple[float, float], kind: str, difference: bool = False) -> str:
    """'8.0 – 10.3 %', '+0.0 to +3.3 pp', '4.21 – 6.05', or 'n/a'."""
    lo, hi = ci
    if not (math.isfinite(lo) or math.isfinite(hi)):
        return "n/a"
    if kind == "conversion":
        scale, unit = 100, " pp" if difference else " %"
        fmt = "{:+.2f}" if difference else "{:.1f}"
    else:
        scale, unit, fmt = 1, "", "{:+,.3g}" if difference else "{:,.2f}"
    left = fmt.format(lo * scale) if math.isfinite(lo) else "−∞"
    right = fmt.format(hi * scale) if math.isfinite(hi) else "+∞"
    return f"{left} to {right}{unit}"


def value_text(value: float, kind: str, difference: bool = False) -> str:
    """'9.1 %', '+1.62 pp', '5.13', '+0.454'."""
    if not math.isfinite(value):
        return "n/a"
    if kind == "conversion":
        return f"{value * 100:+.2f} pp" if difference else f"{value * 100:.1f} %"
    return f"{value:+,.3g}" if difference else f"{value:,.2f}"


def summary_records(rows: Sequence[ResultRow]) -> list[dict]:
    """Every row's :meth:`ResultRow.to_dict`, NaN as None."""
    out = []
    for row in rows:
        record = row.to_dict()
        out.append({k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                    for k, v in record.items()})
    return out


@dataclass(frozen=True)
class SegmentPanel:
    """One metric x treatment broken down by segment: the rows of the forest plot, the
    total they are read against and Simpson's check in words."""

    metric: str
    label: str
    kind: str
    variant: str
    control: str
    higher_is_better: bool
    #: The total's difference and interval, unadjusted (no CUPED) like the segments'.
    total_difference: float
    total_ci: tuple[float, float]
    total_users: int
    total_direction: Direction
    #: segment_table rows of this metric and treatment, with a ``direction`` column.
    rows: pd.DataFrame
    sentence: str


def segment_panels(analysis: ExperimentAnalysis,
                   lower_is_better: Collection[str] | None = None,
                   noun: str = "segment") -> list[SegmentPanel]:
    """The per-segment breakdown of each metric x treatment (empty without segments)."""
    table = analysis.segments
    if table is None or table.empty:
        return []
    panels = []
    for r in analysis.comparisons:
        part = table[(table["metric"] == r.metric) & (table["variant"] == r.variant)].copy()
        if part.empty:
            continue
        better_higher = higher_is_better(r.metric, lower_is_better)
        part["direction"] = [direction_of(d, bool(s), better_higher) for d, s
                             in zip(part["difference"], part["significant"], strict=True)]
        raw = r.treatment_value - r.control_value
        ci = r.unadjusted_ci if r.unadjusted_ci is not None else r.difference_ci
        label = metric_label(r.metric, r.kind)
        panels.append(SegmentPanel(
            r.metric, label, r.kind, r.variant, r.control, better_higher, float(raw),
            (float(ci[0]), float(ci[1])), int(r.control_n + r.treatment_n),
            direction_of(r.difference, r.significant, better_higher),
            part.reset_index(drop=True), simpson_sentence(raw, part, label, noun)))
    return panels


#: Headers in words of the per-segment table (segment_table's columns).
SEGMENT_HEADERS = {"segment": "Segment", "metric": "Metric", "variant": "Variant",
                   "control_n": "Control users", "treatment_n": "Variant users",
                   "control_value": "Control value", "treatment_value": "Variant value",
                   "difference": "Difference", "ci_low": "Interval low",
                   "ci_high": "Interval high", "relative_lift": "Relative lift",
                   "p_value": "p-value", "p_adjusted": "Adjusted p-value",
                   "significant": "Significant"}
