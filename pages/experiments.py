"""Experiments page: did the variant work, by how much, with what certainty, for whom."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.common.export import safe_csv_bytes
from core.data.readers import UPLOAD_TYPES
from core.experiments import charts as charts
from core.experiments.inputs import (
    NOT_REACHED,
    ExperimentSpec,
    default_control,
    guess_columns,
    join_labels,
    label_join_problem,
    parse_numbers,
)
from core.experiments.planning import mde_proportions, plan_means, plan_proportions
from core.experiments.results import (
    SEGMENT_HEADERS,
    ResultRow,
    higher_is_better,
    interval_text,
    results_rows,
    sample_ratio_line,
    segment_panels,
    summary_records,
    value_text,
)
from core.experiments.timing import RuleTiming, rule_timing
from core.experiments.words import CORRECTION_NAMES, fmt_p, fmt_pct, fmt_value, metric_label
from core.workspace import actions
from ui import experiments as ui
from ui.downloads import download_button, frame_version
from ui.editing import edit_lock
from ui.errors import guarded, show_notices, shows_errors
from ui.state import workspace
from ui.text import inert

ws = workspace()
st.title("Experiments")
st.caption("Bring an A/B test and leave knowing whether the variant worked, by how much, "
           "with what certainty and for whom. Differences are treatment minus control.")


def _store(frame: pd.DataFrame, source: dict) -> None:
    for key in [k for k in st.session_state if str(k).startswith("experiments.col.")]:
        del st.session_state[key]
    actions.store_experiment_table(ws, frame, source)


def load_sample() -> None:
    params = ui.sample_parameters(ws)
    _store(ui.sample_experiment(**params), {"name": "Sample experiment", **params})


with st.expander("Experiment data", icon=":material/upload_file:",
                 expanded=ws.experiment_table is None):
    cols = st.columns([3, 4])
    params = ui.sample_parameters(ws)
    cols[0].button("Load the sample experiment", key="experiments.load_sample",
                   on_click=guarded(load_sample), type="primary",
                   **edit_lock(help=f"{params['n_users']:,} users, {params['days']} days, "
                               f"seed {params['seed']}: the same users as the workspace's "
                               "sample."))
    upload = cols[1].file_uploader("Or upload per-user or aggregated rows", UPLOAD_TYPES,
                                   key="experiments.upload", **edit_lock())
    if upload is not None:
        with shows_errors():
            raw = ui.read_upload(upload.getvalue(), upload.name)
            st.caption(f"{inert(upload.name)}: {len(raw):,} rows, columns "
                       f"{', '.join(map(inert, raw.columns[:12]))}")
            if st.button("Use this file", key="experiments.use_upload", **edit_lock()):
                _store(raw, {"name": upload.name})
                st.rerun()

frame = ws.experiment_table
if frame is None or ws.experiment is None:
    st.info("Load the sample experiment or upload a file: one row per user (variant, "
            "converted 0/1 and/or a metric such as revenue) or one row per variant (users, "
            "conversions).", icon=":material/science:")
    st.stop()
source = ws.experiment.source
st.caption(f"**{inert(source.get('name', 'Experiment'))}** · {len(frame):,} rows")


def pick(label: str, options: list[str], default: str | None, key: str, **kw) -> str | None:
    index = options.index(default) if default in options else 0
    value = st.selectbox(label, options, index=index, key=f"experiments.col.{key}", **kw)
    return None if value == ui.NONE else value


def join_rule_tests(frame: pd.DataFrame, user: str | None) -> tuple[pd.DataFrame, dict]:
    """Add the chosen rules' hold-out groups as columns (usable as variant or breakdown)."""
    tests = ui.rule_tests(ws)
    if not tests or not user:
        return frame, {}
    chosen = st.multiselect(
        "Join rule hold-outs", list(tests), key="experiments.col.rule_tests",
        help="Adds one column per rule: 'holdout' or 'treatment' for the users the rule "
             f"reaches (the draw exported with the rules), '{NOT_REACHED}' for the others. "
             "Choose it as the variant column, with 'holdout' as control, to test the rule.")
    for name in chosen:
        frame, _ = join_labels(frame, tests[name].groups, name, user, missing=NOT_REACHED)
    return frame, {name: tests[name] for name in chosen}


def drop_unreached(frame: pd.DataFrame, variant: str, joined: dict) -> pd.DataFrame:
    """A rule's own test compares only the users it reaches: say how many are left out."""
    if variant not in joined:
        return frame
    outside = frame[variant] == NOT_REACHED
    if outside.any():
        st.caption(f"{int(outside.sum()):,} users of the experiment are not reached by the "
                   "rule and are left out of its test.")
    return frame[~outside]


def control_picker(col, frame: pd.DataFrame, variant: str, user: str | None) -> str | None:
    """The control selector, defaulting to the analysis' own choice (named like a
    control, else the variant with the most users)."""
    values = sorted(map(str, frame[variant].dropna().unique()))[:50]
    default = default_control(frame, variant, user).name if len(values) > 1 else None
    return col.selectbox("Control", values, key="experiments.col.control",
                         index=values.index(default) if default in values else 0,
                         help="By default the variant named control, baseline, base, A, "
                              "default, original or champion, else the one with the most "
                              "users.")


def persona_breakdown(frame: pd.DataFrame, segment: str | None, user: str | None,
                      problem: str | None) -> tuple[pd.DataFrame, str | None, str]:
    """Join the persona labels when chosen and possible; otherwise no breakdown, and why."""
    if problem:
        st.caption(inert(problem))
    if segment != ui.PERSONA:
        return frame, segment, (problem or "") if segment is None else ""
    if problem:
        return frame, None, problem
    frame, missing = join_labels(frame, ws.persona_labels(), "persona", user)
    note = (f"{missing:,} users of the experiment are not in the clustered workspace and "
            "are labelled '(none)'." if missing else "")
    return frame, "persona", note


def per_user_columns(frame: pd.DataFrame, names: list[str], variant: str, guess, metric_col
                     ) -> tuple[dict, pd.DataFrame, str]:
    """Metrics, CUPED, timestamp, user id and breakdown of per-user rows."""
    metrics = metric_col.multiselect("Metrics", [c for c in names if c != variant],
                                     default=[m for m in guess.metrics if m in names],
                                     key="experiments.col.metrics",
                                     help="By default the yes/no columns and the numbers "
                                          "named like money; any column can be added.")
    skipped = {c: why for c, why in guess.skipped.items() if c in names}
    if skipped:
        st.caption("Not metrics by default: " + "; ".join(f"{inert(c)} ({why})"
                                                          for c, why in skipped.items()))
    # Two per row: at 1024 px with the sidebar open, four columns cut the names off.
    row = [*st.columns(2), *st.columns(2)]
    with row[0]:
        pre = pick("Pre-period value (CUPED)", [ui.NONE, *names], guess.pre, "pre")
    with row[1]:
        ts = pick("Timestamp", [ui.NONE, *names], guess.ts, "ts")
    with row[2]:
        user = pick("User id", [ui.NONE, *names], guess.user, "user",
                    help="Each user is counted once; without it, each row is a user.")
    labels = ws.persona_labels()
    # Persona is the default breakdown only when its labels can be joined on user ids.
    problem = label_join_problem(frame, labels, user) if labels is not None else None
    seg_options = [ui.NONE] + ([ui.PERSONA] if labels is not None else []) + names
    with row[3]:
        segment = pick("Break down by", seg_options,
                       ui.PERSONA if labels is not None and not problem else None, "segment")
    frame, segment, note = persona_breakdown(frame, segment, user, problem)
    extra = {"metrics": tuple(metrics), "pre_col": pre, "ts_col": ts,
             "segment_col": segment, "user_col": user}
    return extra, frame, note


def lower_is_better(metrics: list[str]) -> list[str]:
    """The metrics for which a decrease is the good direction (bounce, churn, refunds...):
    read from the names, editable."""
    if not metrics:
        return []
    return st.multiselect(
        "Lower is better", metrics, default=[m for m in metrics if not higher_is_better(m)],
        key="experiments.lower_better." + ",".join(metrics),
        help="Metrics whose decrease is a win (e.g. bounce rate, refunds, load time). By "
             "default those named so; every other metric is better higher.")


def columns_and_settings(frame: pd.DataFrame
                         ) -> tuple[ExperimentSpec, pd.DataFrame, str, object, list[str]]:
    """The spec, the frame with any joined columns, the breakdown's note, the rule test
    when the variant is a rule's hold-out (else None) and the lower-is-better metrics."""
    guess = guess_columns(frame)
    with st.expander("Columns and settings", icon=":material/tune:", expanded=False):
        frame, joined = join_rule_tests(frame, guess.user)
        names = [str(c) for c in frame.columns]
        # The metrics (several chips) get a whole line; three settings share the first.
        top = [*st.columns(3), st.container()]
        layout = top[0].radio("Rows are", ["per_user", "aggregated"],
                              index=["per_user", "aggregated"].index(guess.layout),
                              format_func={"per_user": "one per user",
                                           "aggregated": "one per variant"}.get,
                              key="experiments.col.layout")
        variant = top[1].selectbox("Variant column", names,
                                   index=names.index(guess.variant)
                                   if guess.variant in names else 0,
                                   key="experiments.col.variant")
        frame = drop_unreached(frame, variant, joined)
        control = control_picker(top[2], frame, variant,
                                 guess.user if guess.user in names else None)
        extra, note = {}, ""
        if layout == "per_user":
            extra, frame, note = per_user_columns(frame, names, variant, guess, top[3])
        else:
            numeric = [c for c in names if c != variant]
            users = top[3].selectbox("Users column", numeric,
                                     index=numeric.index(guess.users)
                                     if guess.users in numeric else 0,
                                     key="experiments.col.users")
            conv = st.multiselect("Conversion count columns", numeric,
                                  default=[c for c in guess.conversions if c in numeric],
                                  key="experiments.col.conversions")
            extra = {"users_col": users, "conversion_cols": tuple(conv),
                     "mean_cols": tuple(guess.mean_cols)}
            if guess.mean_cols:
                st.caption("Numeric metrics from sum and sum-of-squares columns: "
                           + ", ".join(inert(m[0]) for m in guess.mean_cols))
        metrics = list(extra.get("metrics", ())) or [
            *extra.get("conversion_cols", ()), *(m[0] for m in extra.get("mean_cols", ()))]
        lower = lower_is_better(metrics)
        st.divider()
        split = joined[variant].planned_split() if variant in joined else ""
        return (_settings(variant, control, layout, extra, split), frame, note,
                joined.get(variant), lower)


def _settings(variant, control, layout, extra, split: str = "") -> ExperimentSpec:
    row = [*st.columns(3), *st.columns(3)]
    alpha = row[0].selectbox("α", [0.01, 0.05, 0.10], index=1, key="experiments.alpha")
    alternative = row[1].selectbox(
        "Hypothesis", ["two-sided", "greater", "less"], key="experiments.alternative",
        format_func={"two-sided": "two-sided", "greater": "one-sided: treatment better",
                     "less": "one-sided: treatment worse"}.get)
    correction = row[2].selectbox(
        "Correction", ["holm", "bonferroni", "fdr_bh", "none"], key="experiments.correction",
        format_func={"holm": "Holm", "bonferroni": "Bonferroni",
                     "fdr_bh": "Benjamini-Hochberg", "none": "none"}.get)
    family = row[3].selectbox("Family", ["all", "per_metric"], key="experiments.family",
                              format_func={"all": "all comparisons",
                                           "per_metric": "each metric"}.get)
    interval = row[4].selectbox("Difference interval", ["wald", "newcombe"],
                                key="experiments.interval",
                                format_func={"wald": "Wald (unpooled)",
                                             "newcombe": "Newcombe"}.get)
    # A rule's test is planned with its hold-out share; a new key makes that the default.
    split = row[5].text_input("Planned split", split,
                              key=f"experiments.split.{variant}" if split else "experiments.split",
                              placeholder="equal, or e.g. 50,50",
                              help="Weights per variant in the order control, then the "
                                   "others alphabetically.")
    row = st.columns(3)
    prior_a = row[0].number_input("Prior α (Beta)", 0.01, 1e6, 1.0, key="experiments.prior_a")
    prior_b = row[1].number_input("Prior β (Beta)", 0.01, 1e6, 1.0, key="experiments.prior_b")
    # The switches one under another (side by side in narrow columns their labels
    # were cut off).
    switches = row[2].container()
    rank = switches.toggle("Mann-Whitney", True, key="experiments.rank")
    boot = switches.toggle("Bootstrap interval", False, key="experiments.bootstrap")
    seq = switches.toggle("Sequential p", False, key="experiments.sequential",
                          help="Sequential (always-valid) p-value, mixture SPRT, for "
                               "people who look at results before the planned end.")
    weights = parse_numbers(split, "The planned split")
    return ExperimentSpec(variant_col=variant, control=control, layout=layout, alpha=alpha,
                          alternative=alternative, correction=correction, family=family,
                          interval=interval, planned_weights=weights,
                          prior=(prior_a, prior_b), rank_test=rank, bootstrap=boot,
                          sequential=seq, **extra)


def timing_notice(timing: RuleTiming | None) -> None:
    """Whether the rule's test was recorded while the rule existed."""
    if timing is None:
        return
    if timing.status == "before":
        st.warning(inert(timing.message), icon=":material/history:")
    elif timing.status == "ok":
        st.caption(f":material/schedule: {inert(timing.message)}")
    else:
        st.info(inert(timing.message), icon=":material/schedule:")


def sample_ratio_banner(analysis) -> None:
    """The sample-ratio alarm (an error, among the alarms) or one quiet line."""
    line = sample_ratio_line(analysis)
    if not line.alarm:
        st.caption(f":material/balance: {inert(line.text)}")


def _value_caption(name: str, users: int, ci: tuple[float, float], kind: str,
                   how: str, level: str) -> str:
    return (f"{inert(name)} · {users:,} users  \n{level} {inert(how)} interval "
            f"{interval_text(ci, kind)}")


def result_card(row: ResultRow, sentence: str, alpha: float, index: int) -> None:
    """One results row: the verdict badge and sentence, each arm's value with its
    interval, the difference drawn, the p-value next to the chance to beat control and
    the smallest change this test could detect."""
    level = f"{(1 - alpha) * 100:g} %"
    with st.container(border=True):
        st.markdown(f":{row.colour}-badge[{row.icon} {row.badge}] {inert(sentence)}")
        cols = st.columns(3)
        cols[0].metric("Control", value_text(row.control_value, row.kind))
        cols[0].caption(_value_caption(row.control, row.control_n, row.control_ci, row.kind,
                                       row.value_interval, level))
        cols[1].metric("Variant", value_text(row.variant_value, row.kind))
        cols[1].caption(_value_caption(row.variant, row.variant_n, row.variant_ci, row.kind,
                                       row.value_interval, level))
        cols[2].metric("Difference", value_text(row.difference, row.kind, difference=True))
        lift = (f" · {fmt_pct(row.relative_lift)} relative"
                if row.relative_lift == row.relative_lift else "")
        cols[2].caption(f"{level} interval {interval_text(row.difference_ci, row.kind, True)}"
                        f"{lift}" + ("  \nCUPED-adjusted" if row.cuped else ""))
        st.plotly_chart(charts.results_row_chart([row], alpha),
                        key=f"experiments.result.{index}", config={"displayModeBar": False})
        cols = st.columns(3)
        cols[0].metric(row.p_name[0].upper() + row.p_name[1:],
                       "n/a" if row.p_value != row.p_value else
                       "< 0.001" if row.p_value < 0.001 else f"{row.p_value:.3f}",
                       help=f"Unadjusted {fmt_p(row.raw_p_value)}." if row.p_name != "p"
                       else None)
        cols[1].metric("Chance to beat control",
                       "n/a" if row.chance_to_beat is None
                       else f"{row.chance_to_beat * 100:.1f} %",
                       help="P(variant better than control"
                            f"{'' if row.higher_is_better else ', lower is better'}): "
                            f"{row.chance_convention}.")
        d = row.detectable
        cols[2].metric("Detectable change",
                       row.detectable_size(),
                       help=None if d is None else f"{d.power:.0%} power at α = {alpha:g}; "
                                                   f"{d.convention}.")
        if row.disagreement:
            st.caption(f":material/help: {inert(row.disagreement)}")
        verdict_word = {"win": "a win", "loss": "a loss", "inconclusive": "inconclusive",
                        "doubtful": f"a {row.direction} in doubt"}[row.status]
        caveats = "".join(f" {inert(c[0].upper() + c[1:])}." for c in row.caveats)
        st.caption(f"**Verdict: {verdict_word}** — {inert(row.detectable_text())}."
                   f"{caveats}" + "".join(f" {inert(n[0].upper() + n[1:])}."
                                            for n in row.notes))


def verdict(analysis, rows: list[ResultRow], timing: RuleTiming | None) -> None:
    """The alarms (sample ratio mismatch, too few users), the rule's timing, then one
    results row per metric x variant."""
    st.subheader("Verdict")
    for alarm in analysis.alarms:
        st.error(inert(alarm.message), icon=":material/report:")
    sample_ratio_banner(analysis)
    timing_notice(timing)
    sentences = [timing.sentence(t) if timing else t for t in analysis.sentences]
    for i, (row, text) in enumerate(zip(rows, sentences, strict=True)):
        result_card(row, text, analysis.spec.alpha, i)
    if analysis.control_choice:
        st.caption(f"{inert(analysis.control_choice.text)}; change it under *Columns and "
                   "settings*.")


def frequentist(analysis) -> None:
    st.plotly_chart(charts.forest_plot(analysis.comparisons, analysis.spec.alpha),
                    key="experiments.forest")
    st.dataframe(ui.format_table(analysis.table()), hide_index=True,
                 key="experiments.table")
    for name, omni in analysis.omnibus.items():
        st.markdown(f"**{inert(metric_label(name, 'conversion'))} across all variants:** "
                    f"χ² = {omni.statistic:.2f}, df = {omni.dof}, {fmt_p(omni.p_value)} "
                    f"({omni.test}).")
    extras = [r for r in analysis.comparisons if r.rank_p is not None or r.bootstrap_ci
              or r.sequential_p is not None or r.fisher_p is not None]
    for r in extras:
        parts = []
        if r.rank_p is not None:
            parts.append(f"Mann-Whitney U = {r.rank_u:,.0f}, {fmt_p(r.rank_p)} "
                         f"({r.rank_method})")
        if r.fisher_p is not None:
            parts.append(f"Fisher's exact {fmt_p(r.fisher_p)}")
        if r.bootstrap_ci:
            parts.append(f"bootstrap interval {r.bootstrap_ci[0]:.3g} to "
                         f"{r.bootstrap_ci[1]:.3g}")
        if r.sequential_p is not None:
            parts.append(f"sequential (always-valid) {fmt_p(r.sequential_p)}")
        st.caption(f"{inert(metric_label(r.metric, r.kind))} · {inert(r.variant)}: "
                   + "; ".join(parts))
    st.dataframe(analysis.arms, hide_index=True, key="experiments.arms", column_config={
        "metric": "Metric", "kind": "Kind", "variant": "Variant",
        "users": st.column_config.NumberColumn("Users", format="localized"),
        "total": st.column_config.NumberColumn("Total", format="localized"),
        "value": st.column_config.NumberColumn("Rate or mean", format="%.4g"),
        "sd": st.column_config.NumberColumn("Standard deviation", format="%.4g"),
        "ci_low": st.column_config.NumberColumn("Interval low", format="%.4g"),
        "ci_high": st.column_config.NumberColumn("Interval high", format="%.4g"),
        "interval": "Interval"})


def bayesian(analysis) -> None:
    if not analysis.bayes:
        st.info("The Bayesian view covers conversion (0/1) metrics; choose one.")
        return
    st.caption(f"Convention: Beta({analysis.spec.prior[0]:g}, {analysis.spec.prior[1]:g}) "
               "prior for every variant; exact P(variant beats control); expected loss = "
               "conversion given up if the choice is wrong.")
    for metric, result in analysis.bayes.items():
        cols = st.columns(2 * (len(analysis.variants) - 1))
        for i, name in enumerate(analysis.variants[1:], start=1):
            cols[2 * i - 2].metric(f"P({inert(name)} beats {inert(analysis.control)}) · "
                                   f"{inert(metric_label(metric, 'conversion'))}",
                                   fmt_pct(result.prob_beats_control[i], signed=False))
            cols[2 * i - 1].metric(f"Expected loss of shipping {inert(name)}",
                                   f"{result.expected_loss[i] * 100:.3f} pp",
                                   help="E[max(control - variant, 0)] in percentage points.")
        st.plotly_chart(charts.posterior_densities(result, analysis.variants, metric),
                        key=f"experiments.posterior.{metric}")


def _segment_columns(kind: str, noun: str) -> dict:
    """Column formats of one metric's per-segment table (rates in %, differences in pp)."""
    pct, pp = ("%.1f %%", "%+.2f pp") if kind == "conversion" else ("localized",) * 2
    number = st.column_config.NumberColumn
    return {SEGMENT_HEADERS["segment"]: st.column_config.TextColumn(noun.capitalize()),
            SEGMENT_HEADERS["control_n"]: number(format="localized"),
            SEGMENT_HEADERS["treatment_n"]: number(format="localized"),
            SEGMENT_HEADERS["control_value"]: number(format=pct),
            SEGMENT_HEADERS["treatment_value"]: number(format=pct),
            SEGMENT_HEADERS["difference"]: number(format=pp),
            SEGMENT_HEADERS["ci_low"]: number(format=pp),
            SEGMENT_HEADERS["ci_high"]: number(format=pp),
            SEGMENT_HEADERS["relative_lift"]: number(format="%+.1f %%"),
            SEGMENT_HEADERS["p_value"]: number(format="%.3g"),
            SEGMENT_HEADERS["p_adjusted"]: number(format="%.3g")}


def per_segment(analysis, note: str, lower: list[str]) -> None:
    if analysis.segments is None:
        if note:
            st.info(inert(note), icon=":material/hub:")
        elif ws.persona_labels() is None:
            st.info("Cluster the users first (**Clustering** page) to break the results "
                    "down by persona, or choose a segment column under *Columns and "
                    "settings*.", icon=":material/hub:")
        else:
            st.info("Choose *Persona* (or another column) under *Break down by*.")
        return
    noun = "persona" if analysis.segment_column == "persona" else "segment"
    panels = segment_panels(analysis, lower, noun)
    st.caption(f"By **{inert(analysis.segment_column)}**; differences are treatment minus "
               "control, unadjusted (no CUPED) so that each "
               f"{noun} and the total compare like for like; colours and significance use "
               f"p-values corrected per metric over every {noun} and variant "
               f"({CORRECTION_NAMES[analysis.spec.correction]} correction). {inert(note)}")
    for panel in panels:
        icon = (":material/warning:" if panel.sentence.startswith("Simpson")
                else ":material/check:" if panel.sentence.startswith("Every")
                else ":material/info:")
        st.markdown(f"{icon} **{inert(panel.label)} · {inert(panel.variant)}:** "
                    f"{inert(panel.sentence)}")
    if panels:
        st.plotly_chart(charts.segment_forest(panels, analysis.spec.alpha, noun),
                        key="experiments.segment_forest")
    with st.expander(f"Every number per {noun}", icon=":material/table:"):
        for i, panel in enumerate(panels):
            table = panel.rows.drop(columns=["metric", "variant", "direction"]).copy()
            if panel.kind == "conversion":
                for col in ["control_value", "treatment_value", "difference", "ci_low",
                            "ci_high"]:
                    table[col] = table[col] * 100
            table["relative_lift"] = table["relative_lift"] * 100
            st.caption(f"**{inert(panel.label)} · {inert(panel.variant)}**")
            st.dataframe(table.rename(columns=SEGMENT_HEADERS), hide_index=True,
                         column_config=_segment_columns(panel.kind, noun),
                         key=f"experiments.segments.{i}")


def over_time(analysis) -> None:
    if analysis.timeline is None:
        st.info("Choose a timestamp column to see cumulative results by day and check "
                "for peeking.")
        return
    metric = analysis.comparisons[0].metric
    kind = next((r.kind for r in analysis.comparisons if r.metric == metric), "mean")
    st.plotly_chart(charts.cumulative_chart(analysis.timeline, metric, kind),
                    key="experiments.timeline")
    st.caption("Dotted: fixed-horizon p-value, valid only for one look at the end. Solid: "
               "sequential (always-valid) p-value, valid however often you look.")


def planning(analysis) -> None:
    conv = next((r for r in analysis.comparisons if r.kind == "conversion"), None)
    cols = st.columns(5)
    baseline = cols[0].number_input("Baseline rate (%)", 0.01, 99.99,
                                    round(conv.control_value * 100, 2) if conv else 10.0,
                                    key="experiments.plan.baseline") / 100
    mde = cols[1].number_input("Minimum detectable effect (%)", 0.01, 500.0, 10.0,
                               key="experiments.plan.mde") / 100
    relative = cols[2].toggle("Relative effect", True, key="experiments.plan.relative")
    power = cols[3].number_input("Power", 0.5, 0.99, 0.8, 0.05, key="experiments.plan.power")
    daily = cols[4].number_input("Users per day", 0, 10**9, 1000,
                                 key="experiments.plan.daily")
    spec, k = analysis.spec, len(analysis.variants)
    with shows_errors():
        plan = plan_proportions(baseline, mde, relative, spec.alpha, power, spec.alternative,
                                k, daily or None)
        st.markdown(f"**{plan.users_per_variant:,} users per variant** ({plan.total_users:,} "
                    f"in all{f', about {plan.days} days' if plan.days else ''}) to detect "
                    f"{fmt_value(plan.baseline, 'conversion')} → "
                    f"{fmt_value(plan.target, 'conversion')} with power {power:.0%}.")
        st.caption(f"Convention: {plan.convention}; α = {spec.alpha:g}, {spec.alternative}.")
        if conv:
            n = min(conv.control_n, conv.treatment_n)
            mde_now = mde_proportions(conv.control_value, n, spec.alpha, power,
                                      spec.alternative)
            relative_now = fmt_pct(mde_now / conv.control_value)
            st.markdown(f"With the current {n:,} users per variant, the smallest detectable "
                        f"change is {mde_now * 100:+.2f} pp ({relative_now} relative).")
    means = analysis.arms[(analysis.arms["kind"] == "mean")
                          & (analysis.arms["variant"] == analysis.control)]
    for _, arm in means.iterrows():
        sd = arm["sd"]
        with shows_errors():
            plan = plan_means(arm["value"], sd, mde, relative, spec.alpha, power,
                              spec.alternative, k, daily or None)
            st.markdown(f"{inert(metric_label(arm['metric'], 'mean'))}: "
                        f"**{plan.users_per_variant:,} "
                        f"users per variant** (sd {sd:,.2f}, {plan.convention}).")


with shows_errors():
    spec, frame, join_note, rule_test, lower = columns_and_settings(frame)
    # Persona labels and rule hold-outs joined above change with the clusters and rules,
    # not with the stored table: the cache key follows both.
    version = ui.analysis_version(ws)
    spec_json = json.dumps(spec.to_dict(), sort_keys=True)
    with st.spinner("Analysing..."):
        analysis = ui.analysed(version, spec_json, frame)
    timing = None
    if rule_test is not None:
        timing = rule_timing(frame[spec.ts_col] if spec.ts_col in frame.columns else None,
                             rule_test.since, rule_test.rule)
    rows = results_rows(analysis, lower, [timing.caveat] if timing and timing.caveat else [])
    # The report keeps its keys; the results rows and the rule's timing are added, and
    # outcomes recorded before the rule turn the sentences and alarms into a warning.
    summary = analysis.summary()
    if timing is not None and timing.caveat:
        summary["sentences"] = [timing.sentence(t) for t in summary["sentences"]]
        summary["alarms"] = [*summary["alarms"], timing.notice().to_dict()]
    summary |= {"results": summary_records(rows),
                "rule_timing": None if timing is None else timing.notice().to_dict()}
    actions.record_experiment_analysis(ws, spec, summary)
    # Errors (the alarms) are drawn inside the verdict, next to what they qualify.
    show_notices([n for n in analysis.notices if n.level != "error"], infos="caption")
    verdict(analysis, rows, timing)
    st.caption("Conventions: " + " · ".join(map(inert, analysis.conventions)))
    view = st.segmented_control("View", ["Frequentist", "Bayesian", "Per persona",
                                         "Over time", "Planning"], default="Frequentist",
                                key="experiments.view") or "Frequentist"
    {"Frequentist": frequentist, "Bayesian": bayesian, "Over time": over_time,
     "Planning": planning}.get(view, lambda a: per_segment(a, join_note, lower))(analysis)
    table = analysis.table()
    download_button("Download results (CSV)", key="experiments.download",
                    version=frame_version(table), build=lambda: safe_csv_bytes(table, index=False),
                    file_name="experiment_results.csv", mime="text/csv",
                    icon=":material/download:")
