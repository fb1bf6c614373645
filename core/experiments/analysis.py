"""A/B test analysis: the public API used by the Experiments page, the ``abtest``
command and outside checks.

Conventions: index 0 (or the named control) is the control; ``difference`` and
``relative_lift`` are always treatment minus control; results are dataclasses with
named fields and machine-readable notices (code, message, level).

The statistics live in small modules re-exported here:
:mod:`core.experiments.frequentist` (tests), :mod:`core.experiments.bayesian` (Beta posteriors),
:mod:`core.experiments.adjust` (CUPED, sequential p-value),
:mod:`core.experiments.planning` (sample sizes), :mod:`core.experiments.inputs`
(columns, settings and the control), :mod:`core.experiments.columns` (which column is a
metric) and :mod:`core.experiments.users` (one row per user). :func:`analyse_experiment`
runs the whole analysis of a table; its error-level notices are the ``alarms`` shown
next to the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import ConfigError, DataError, PersonaLensError
from core.common.notices import Notice, notices_to_json
from core.common.progress import Progress
from core.experiments.adjust import CupedResult, cuped_adjust, cuped_theta, msprt_p_value
from core.experiments.arms import ArmStats, aggregated_arms, per_user_arms, users_per_variant
from core.experiments.bayesian import (
    BayesianResult,
    bayesian_proportions,
    expected_loss,
    prob_b_beats_a,
    prob_beats_control,
)
from core.experiments.breakdown import peeking_notices, segment_table, simpson_notices, timeline
from core.experiments.compare import MetricComparison, compare
from core.experiments.frequentist import (
    MannWhitneyResult,
    MeansResult,
    ProportionsResult,
    SrmResult,
    adjust_pvalues,
    fisher_test,
    mann_whitney_test,
    means_test,
    means_test_from_stats,
    proportions_test,
    srm_test,
    wilson_interval,
)
from core.experiments.inputs import (
    ColumnGuess,
    ControlChoice,
    ExperimentSpec,
    Variants,
    choose_control,
    factorize_variants,
    guess_columns,
    join_labels,
    numeric_column,
)
from core.experiments.planning import (
    Plan,
    days_needed,
    mde_means,
    mde_proportions,
    plan_means,
    plan_proportions,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from core.experiments.users import per_user_rows
from core.experiments.words import (
    comparison_table,
    conventions,
    json_ready,
    sentence,
    srm_alarm,
)

__all__ = [
    "BayesianResult", "ColumnGuess", "ControlChoice", "CupedResult", "ExperimentAnalysis",
    "ExperimentSpec",
    "MannWhitneyResult", "MeansResult", "MetricComparison", "Notice", "Plan",
    "ProportionsResult", "SrmResult", "adjust_pvalues", "analyse_experiment",
    "bayesian_proportions", "cuped_adjust", "cuped_theta", "days_needed", "expected_loss",
    "fisher_test", "guess_columns", "join_labels", "mann_whitney_test", "mde_means",
    "mde_proportions", "means_test", "means_test_from_stats", "msprt_p_value",
    "plan_means", "plan_proportions", "power_proportions", "prob_b_beats_a",
    "prob_beats_control", "proportions_test", "sample_experiment", "sample_size_means",
    "sample_size_proportions", "srm_test", "wilson_interval",
]

#: Below this p-value the split of users differs from the plan by more than chance:
#: the usual threshold for a sample ratio mismatch alarm (Fabijan et al., KDD 2019).
SRM_ALARM_P = 0.001


@dataclass
class ExperimentAnalysis:
    """Everything the page, the command line and the report show about one experiment."""

    spec: ExperimentSpec
    variants: list[str]
    users: list[int]
    srm: SrmResult
    comparisons: list[MetricComparison]
    #: Per metric and variant: users, value, standard deviation and the value's
    #: interval (Wilson or t).
    arms: pd.DataFrame
    omnibus: dict[str, ProportionsResult] = field(default_factory=dict)
    bayes: dict[str, BayesianResult] = field(default_factory=dict)
    segments: pd.DataFrame | None = None
    segment_column: str | None = None
    timeline: pd.DataFrame | None = None
    notices: list[Notice] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    conventions: list[str] = field(default_factory=list)
    #: Which variant is the control and why.
    control_choice: ControlChoice | None = None

    @property
    def control(self) -> str:
        return self.variants[0]

    @property
    def srm_alarm(self) -> bool:
        """True when users per variant differ from the planned split beyond chance."""
        return self.srm.p_value < SRM_ALARM_P

    @property
    def alarms(self) -> list[Notice]:
        """The error-level notices: reasons not to trust the verdict (sample ratio
        mismatch, too few users, Simpson's paradox), shown next to it."""
        return [n for n in self.notices if n.level == "error"]

    def table(self) -> pd.DataFrame:
        """One row per metric x treatment with every number (the CSV export)."""
        return comparison_table(self.comparisons)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for the persona report: sentences, table, conventions."""
        choice = self.control_choice
        return {"sentences": list(self.sentences), "table": json_ready(self.table()),
                "conventions": list(self.conventions),
                "notices": notices_to_json(self.notices),
                "alarms": notices_to_json(self.alarms),
                "control": {"name": self.control,
                            "reason": choice.reason if choice else None}}


def sample_experiment(n_users: int = 5000, days: int = 90, seed: int = 42) -> pd.DataFrame:
    """The generated sample shop's A/B test: user_id, variant, converted, revenue,
    pre_period_revenue (one row per non-bot user)."""
    from core.data.sample import generate_sample

    return generate_sample(n_users=n_users, days=days, seed=seed).experiment


def analyse_experiment(frame: pd.DataFrame, spec: ExperimentSpec,
                       progress: Progress | None = None) -> ExperimentAnalysis:
    """Analyse an experiment table.

    Parameters
    ----------
    frame : DataFrame
        Per-user rows or aggregated rows (see :class:`ExperimentSpec`).
    spec : ExperimentSpec
        Columns, control, metrics and statistical settings.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    ExperimentAnalysis

    Raises
    ------
    DataError, ConfigError
        With a message saying what to fix: one variant, a missing control, no users,
        conversions above users, a constant metric, missing columns.
    """
    step = progress or (lambda _f, _m: None)
    if frame is None or len(frame) == 0:
        raise DataError("The experiment table is empty; load a file with one row per user "
                        "(or per variant).")
    variants, notices = factorize_variants(frame, spec.variant_col), []
    if variants.excluded_rows:
        notices.append(Notice("missing_variant", f"{variants.excluded_rows:,} rows have no "
                              "variant and were left out."))
    kinds: dict[str, str] = {}
    if spec.layout == "per_user":
        rows = per_user_rows(frame, spec, variants)
        frame, variants, kinds = rows.frame, rows.variants, rows.kinds
        notices.extend(rows.notices)
    choice, variants, users = _control(frame, spec, variants)
    notices.append(choice.notice())
    names = variants.names
    srm = _srm(users, spec, names, notices)
    step(0.1, "Per-variant sums")
    arms = _arms(frame, spec, variants, kinds, notices)
    pre = _pre_period(frame, spec)
    step(0.3, "Tests")
    comparisons = _comparisons(arms, names, spec, pre, notices)
    _adjust(comparisons, spec)
    analysis = ExperimentAnalysis(spec, names, [int(u) for u in users], srm, comparisons,
                                  _arm_table(arms, names, spec.alpha), notices=notices,
                                  control_choice=choice)
    step(0.6, "Bayesian view")
    _bayes(analysis, arms)
    _omnibus(analysis, arms)
    step(0.7, "Breakdowns")
    _breakdowns(analysis, frame, arms)
    alarm = srm_alarm(srm.p_value) if analysis.srm_alarm else None
    analysis.sentences = [sentence(r, spec, alarm) for r in comparisons]
    analysis.conventions = conventions(spec, {a.kind for a in arms}, pre is not None,
                                       len(names))
    step(1.0, "Done")
    return analysis


# ----------------------------------------------------------------------------- steps


def _control(frame: pd.DataFrame, spec: ExperimentSpec, variants: Variants
             ) -> tuple[ControlChoice, Variants, np.ndarray]:
    """The control (given, named like one, or the variant with the most users), the
    variants recoded with it first and the users per variant in that order."""
    users = users_per_variant(frame, spec, variants)
    if len(users) != len(variants.names):
        users = variants.counts()
    choice = choose_control(variants.names, users, spec.control)
    recoded = variants.with_control(choice.name, spec.variant_col)
    order = [variants.names.index(name) for name in recoded.names]
    return choice, recoded, users[order]


def _srm(users: np.ndarray, spec: ExperimentSpec, names: list[str],
         notices: list[Notice]) -> SrmResult:
    if (users <= 0).any():
        empty = names[int(np.argmax(users <= 0))]
        raise DataError(f"Variant '{empty}' has no users; every variant needs users.")
    srm = srm_test(users, spec.planned_weights)
    if srm.p_value < SRM_ALARM_P:
        split = ", ".join(f"{n}: {int(o):,} (expected {e:,.0f})"
                          for n, o, e in zip(names, srm.observed, srm.expected, strict=True))
        notices.append(Notice(
            "srm", f"{srm_alarm(srm.p_value)}. Users per variant differ from the planned "
            f"split ({split}). Assignment or logging is broken somewhere; the results are "
            "not trustworthy until the cause is found.", "error"))
    return srm


def _arms(frame: pd.DataFrame, spec: ExperimentSpec, variants: Variants,
          kinds: dict[str, str], notices: list[Notice]) -> list[ArmStats]:
    if spec.layout == "aggregated":
        return aggregated_arms(frame, spec, variants)
    if not spec.metrics:
        raise ConfigError("Choose at least one metric: a 0/1 conversion column or a numeric "
                          "column such as revenue.")
    arms = [per_user_arms(frame, spec, variants, m, kinds.get(m)) for m in spec.metrics]
    for arm in arms:
        if arm.excluded:
            notices.append(Notice("missing_metric", f"{arm.name}: {arm.excluded:,} users "
                                  "have no value (an empty cell or one that is not usable) "
                                  "and were left out of this metric.", subject=arm.name))
    return arms


def _pre_period(frame: pd.DataFrame, spec: ExperimentSpec) -> np.ndarray | None:
    if not spec.pre_col or spec.layout != "per_user":
        return None
    return numeric_column(frame, spec.pre_col)


def _comparisons(arms: list[ArmStats], names: list[str], spec: ExperimentSpec,
                 pre: np.ndarray | None, notices: list[Notice]) -> list[MetricComparison]:
    rows, failures = [], []
    for arm in arms:
        for i in range(1, len(names)):
            try:
                row = compare(arm, i, names, spec, pre if arm.kind == "mean" else None)
            except PersonaLensError as exc:
                failures.append(exc)
                notices.append(Notice("metric_skipped", f"{arm.name} ({names[i]}) was not "
                                      f"tested: {exc}"))
                continue
            rows.append(row)
            notices.extend(n for n in row.notices if n not in notices)
    if not rows:
        raise failures[0]
    return rows


def _adjust(rows: list[MetricComparison], spec: ExperimentSpec) -> None:
    """Adjusted p-values per family: each metric's treatments, or everything."""
    families: dict[str, list[MetricComparison]] = {}
    for row in rows:
        families.setdefault(row.metric if spec.family == "per_metric" else "all",
                            []).append(row)
    for members in families.values():
        adjusted = adjust_pvalues([r.p_value for r in members], spec.correction)
        for row, p in zip(members, adjusted, strict=True):
            row.p_adjusted, row.family_size = float(p), len(members)
            row.significant = bool(p < spec.alpha)


def _arm_table(arms: list[ArmStats], names: list[str], alpha: float) -> pd.DataFrame:
    from scipy import stats

    records = []
    for arm in arms:
        for i, name in enumerate(names):
            n, mean, sd = arm.n[i], arm.means[i], arm.sds[i]
            if arm.kind == "conversion":
                lo, hi = wilson_interval(arm.sums[i], n, alpha) if n > 0 else (np.nan,) * 2
                how = "Wilson"
            else:
                half = stats.t.ppf(1 - alpha / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
                lo, hi, how = mean - half, mean + half, "t"
            records.append({"metric": arm.name, "kind": arm.kind, "variant": name,
                            "users": int(n), "total": float(arm.sums[i]),
                            "value": float(mean), "sd": float(sd), "ci_low": float(lo),
                            "ci_high": float(hi), "interval": how})
    return pd.DataFrame.from_records(records)


def _bayes(analysis: ExperimentAnalysis, arms: list[ArmStats]) -> None:
    names = analysis.variants
    for arm in arms:
        if arm.kind != "conversion" or arm.sums.sum() in (0, arm.n.sum()):
            continue
        result = bayesian_proportions(arm.sums, arm.n, analysis.spec.prior)
        analysis.bayes[arm.name] = result
        for row in analysis.comparisons:
            if row.metric == arm.name:
                i = names.index(row.variant)
                row.prob_beats_control = result.prob_beats_control[i]
                row.expected_loss = result.expected_loss[i]


def _omnibus(analysis: ExperimentAnalysis, arms: list[ArmStats]) -> None:
    if len(analysis.variants) < 3:
        return
    for arm in arms:
        if arm.kind == "conversion":
            try:
                analysis.omnibus[arm.name] = proportions_test(
                    arm.sums, arm.n, analysis.spec.alpha, "two-sided", analysis.spec.interval)
            except PersonaLensError:
                continue


def _breakdowns(analysis: ExperimentAnalysis, frame: pd.DataFrame,
                arms: list[ArmStats]) -> None:
    spec = analysis.spec
    if spec.layout != "per_user":
        return
    if spec.segment_col:
        if spec.segment_col not in frame.columns:
            raise ConfigError(f"The segment column '{spec.segment_col}' is not in the data.")
        segments = frame[spec.segment_col].astype(object).where(
            frame[spec.segment_col].notna(), "(none)").astype(str).to_numpy()
        analysis.segments = segment_table(arms, segments, analysis.variants, spec)
        analysis.segment_column = spec.segment_col
        pooled = {(r.metric, r.variant): r.difference for r in analysis.comparisons}
        analysis.notices.extend(simpson_notices(pooled, analysis.segments, spec.alpha))
    if spec.ts_col:
        if spec.ts_col not in frame.columns:
            raise ConfigError(f"The timestamp column '{spec.ts_col}' is not in the data.")
        first = next((a for a in arms if a.kind == "conversion"), arms[0])
        table, notices = timeline(first, frame[spec.ts_col], analysis.variants, spec)
        analysis.timeline = table
        final = {r.variant: r.significant for r in analysis.comparisons
                 if r.metric == first.name}
        analysis.notices.extend(notices + peeking_notices(table, spec.alpha, final))
    else:
        analysis.notices.append(Notice(
            "no_timestamps", "No timestamp column: whether the results were looked at "
            "before the planned end cannot be checked. The p-values assume one look at the "
            "end.", "info"))
