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
from core.experiments.words import fmt_p, fmt_pct, fmt_value, metric_label
from core.workspace import actions
from ui import experiments as ui
from ui.downloads import download_button, frame_version
from ui.errors import show_notices, shows_errors
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
                   on_click=load_sample, type="primary",
                   help=f"{params['n_users']:,} users, {params['days']} days, seed "
                        f"{params['seed']}: the same users as the workspace's sample.")
    upload = cols[1].file_uploader("Or upload per-user or aggregated rows", UPLOAD_TYPES,
                                   key="experiments.upload")
    if upload is not None:
        with shows_errors():
            raw = ui.read_upload(upload.getvalue(), upload.name)
            st.caption(f"{inert(upload.name)}: {len(raw):,} rows, columns "
                       f"{', '.join(map(inert, raw.columns[:12]))}")
            if st.button("Use this file", key="experiments.use_upload"):
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
    row = st.columns(4)
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


def columns_and_settings(frame: pd.DataFrame) -> tuple[ExperimentSpec, pd.DataFrame, str]:
    guess = guess_columns(frame)
    with st.expander("Columns and settings", icon=":material/tune:", expanded=False):
        frame, joined = join_rule_tests(frame, guess.user)
        names = [str(c) for c in frame.columns]
        top = st.columns(4)
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
        st.divider()
        split = joined[variant].planned_split() if variant in joined else ""
        return _settings(variant, control, layout, extra, split), frame, note


def _settings(variant, control, layout, extra, split: str = "") -> ExperimentSpec:
    row = st.columns(5)
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
    row = st.columns(5)
    # A rule's test is planned with its hold-out share; a new key makes that the default.
    split = row[0].text_input("Planned split", split,
                              key=f"experiments.split.{variant}" if split else "experiments.split",
                              placeholder="equal, or e.g. 50,50",
                              help="Weights per variant in the order control, then the "
                                   "others alphabetically.")
    prior_a = row[1].number_input("Prior α (Beta)", 0.01, 1e6, 1.0, key="experiments.prior_a")
    prior_b = row[2].number_input("Prior β (Beta)", 0.01, 1e6, 1.0, key="experiments.prior_b")
    rank = row[3].toggle("Mann-Whitney", True, key="experiments.rank")
    boot = row[3].toggle("Bootstrap interval", False, key="experiments.bootstrap")
    seq = row[4].toggle("Sequential p-value", False, key="experiments.sequential",
                        help="Always-valid p-value (mixture SPRT) for people who look at "
                             "results before the planned end.")
    weights = parse_numbers(split, "The planned split")
    return ExperimentSpec(variant_col=variant, control=control, layout=layout, alpha=alpha,
                          alternative=alternative, correction=correction, family=family,
                          interval=interval, planned_weights=weights,
                          prior=(prior_a, prior_b), rank_test=rank, bootstrap=boot,
                          sequential=seq, **extra)


def verdict(analysis) -> None:
    """The sentences with their alarms (sample ratio mismatch, too few users) inside."""
    st.subheader("Verdict")
    for alarm in analysis.alarms:
        st.error(inert(alarm.message), icon=":material/report:")
    for row, text in zip(analysis.comparisons, analysis.sentences, strict=True):
        icon = (":material/warning:" if row.significant and (analysis.srm_alarm
                                                             or not row.estimable)
                else ":material/check_circle:" if row.significant
                else ":material/radio_button_unchecked:")
        st.markdown(f"{icon} {inert(text)}")
    if analysis.control_choice:
        st.caption(f"{inert(analysis.control_choice.text)}; change it under *Columns and "
                   "settings*.")
    cols = st.columns(len(analysis.variants) + 1)
    for col, name, users in zip(cols, analysis.variants, analysis.users, strict=False):
        col.metric(f"Users · {inert(name)}", f"{users:,}")
    cols[-1].metric("Sample ratio p", f"{analysis.srm.p_value:.3g}",
                    delta="mismatch: do not trust" if analysis.srm_alarm else None,
                    delta_color="inverse",
                    help="Chi-square goodness of fit against the planned split; below "
                         "0.001 the split is broken.")


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
    st.dataframe(analysis.arms, hide_index=True, key="experiments.arms")


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


def per_segment(analysis, note: str) -> None:
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
    st.caption(f"By **{inert(analysis.segment_column)}**; p-values corrected per metric over "
               f"every segment and variant ({analysis.spec.correction}). {note}")
    st.dataframe(analysis.segments, hide_index=True, key="experiments.segments")


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
    spec, frame, join_note = columns_and_settings(frame)
    # Persona labels and rule hold-outs joined above change with the clusters and rules,
    # not with the stored table: the cache key follows both.
    version = ui.analysis_version(ws)
    spec_json = json.dumps(spec.to_dict(), sort_keys=True)
    with st.spinner("Analysing..."):
        analysis = ui.analysed(version, spec_json, frame)
    summary = analysis.summary()
    actions.record_experiment_analysis(ws, spec, summary)
    # Errors (the alarms) are drawn inside the verdict, next to what they qualify.
    show_notices([n for n in analysis.notices if n.level != "error"], infos="caption")
    verdict(analysis)
    st.caption("Conventions: " + " · ".join(map(inert, analysis.conventions)))
    view = st.segmented_control("View", ["Frequentist", "Bayesian", "Per persona",
                                         "Over time", "Planning"], default="Frequentist",
                                key="experiments.view") or "Frequentist"
    {"Frequentist": frequentist, "Bayesian": bayesian, "Over time": over_time,
     "Planning": planning}.get(view, lambda a: per_segment(a, join_note))(analysis)
    table = analysis.table()
    download_button("Download results (CSV)", key="experiments.download",
                    version=frame_version(table), build=lambda: safe_csv_bytes(table, index=False),
                    file_name="experiment_results.csv", mime="text/csv",
                    icon=":material/download:")
