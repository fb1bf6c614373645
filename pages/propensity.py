"""Propensity page: who will churn or convert. Labels after a cutoff, features from the
events before it, models trained one horizon earlier and tested at the cutoff against
recency alone; the evaluation (ROC and PR with intervals, the threshold and its
confusion matrix, calibration, gains, per persona), the explanations, and the scores
saved into the feature table for segments, rules and personas."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.common.export import safe_csv_bytes
from core.predict import MODELS, SCORE_COLUMNS, LabelSpec, PropensityConfig, check_window
from core.predict import charts as predict_charts
from core.predict.evaluate import at_threshold, per_group
from core.predict.sql import model_sql
from core.segment.labels import label_colours
from core.workspace.predict import (
    default_spec,
    explain_user,
    forget_propensity,
    save_propensity,
    saved_document,
    saved_model,
)
from ui.downloads import download_button
from ui.editing import edit_lock
from ui.errors import show_notices, shows_errors
from ui.journeys import events_or_stop
from ui.predict import (
    cached_evaluation,
    has_evaluation,
    label_balance,
    version,
)
from ui.state import workspace
from ui.text import inert

TARGETS = {"churn": "Churn", "conversion": "Conversion"}
OUTCOME = {"churn": ("churned", "stayed"), "conversion": ("converted", "did not convert")}

ws = workspace()
st.title("Propensity")
st.caption("Who is likely to churn or to convert in the next days: models learn from an "
           "earlier cutoff and are tested on a later one they never saw, beside recency "
           "alone. Saved scores become feature columns for segments, rules and personas.")
events = events_or_stop(ws)
if ws.feature_info.config is None:
    st.info("Compute features first (Features page).", icon=":material/info:")
    st.stop()

# ---------------------------------------------------------------------------- settings
target = st.segmented_control("Predict", list(TARGETS), format_func=TARGETS.get,
                              default="churn", key="propensity.target", width="content") \
    or "churn"
default = default_spec(ws, target)
first, last = events["ts"].min(), events["ts"].max()
present = sorted(events["event"].astype(str).unique())
row = st.container(horizontal=True, vertical_alignment="top")
horizon = int(row.number_input("Horizon (days)", 1, 365, default.horizon_days, 1,
                               key=f"propensity.{target}.horizon", width=150,
                               help="How many days after a cutoff the label looks at."))
cutoff = row.date_input("Test cutoff", pd.Timestamp(default.cutoff).date(),
                        min_value=first.date(), max_value=last.date(),
                        key=f"propensity.{target}.cutoff", width=170,
                        help="Models learn at this date minus one horizon and are tested "
                             "here; the latest cutoff whose horizon the data covers is the "
                             "default.")
targets: tuple[str, ...] = ()
active = None
if target == "conversion":
    picked = row.multiselect("Counts as converting", present,
                             default=[e for e in default.target_events if e in present],
                             key="propensity.conversion.events", width=320)
    targets = tuple(picked)
else:
    within = int(row.number_input(
        "Only users active in the last … days (0: everyone)", 0, 3650,
        default.active_within_days or 0, 1, key="propensity.churn.active", width=300,
        help="A user silent for months has already left: labelling them 'churned' again "
             "makes any model look good. Their churn risk is not scored ('lapsed')."))
    active = within or None
spec = LabelSpec(target, f"{cutoff:%Y-%m-%d}", horizon, targets, active)
positive, negative = OUTCOME[target]

numeric = [c for c in ws.features.columns if c not in {c for p in SCORE_COLUMNS.values()
                                                      for c in p}
           and pd.api.types.is_numeric_dtype(ws.features[c])]
with st.expander("Features the models use"):
    chosen = st.multiselect("Features (empty: every informative numeric feature)", numeric,
                            key=f"propensity.{target}.features")
    st.caption("Computed at each cutoff from the events before it only, with the settings "
               "of the Features page; a feature constant at the training cutoff is left "
               "out when none are chosen.")
config = PropensityConfig(spec, features=tuple(chosen))

window_ok = False
with shows_errors():
    check_window(spec, events)
    window_ok = True
if window_ok:
    key = version(ws)
    spec_json = json.dumps(spec.to_dict(), sort_keys=True)
    train_n, train_rate = label_balance(key, spec_json, "train", events)
    test_n, test_rate = label_balance(key, spec_json, "test", events)
    cols = st.columns(3)
    cols[0].metric(f"Learn at {spec.train_cutoff_ts:%Y-%m-%d}", f"{train_n:,} users",
                   f"{train_rate:.1%} {positive}", delta_color="off", delta_arrow="off",
                   help=f"Labels from events {spec.train_cutoff_ts:%Y-%m-%d} to "
                        f"{spec.cutoff_ts:%Y-%m-%d}; features from before.")
    cols[1].metric(f"Test at {spec.cutoff_ts:%Y-%m-%d}", f"{test_n:,} users",
                   f"{test_rate:.1%} {positive}", delta_color="off", delta_arrow="off",
                   help=f"Labels from events {spec.cutoff_ts:%Y-%m-%d} to "
                        f"{spec.cutoff_ts + pd.Timedelta(days=horizon):%Y-%m-%d}.")
    cols[2].metric("Data covers", f"{(last - first).days} days", f"to {last:%Y-%m-%d}",
                   delta_color="off", delta_arrow="off",
                   help=f"Events from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}.")

run = st.button("Fit and test the models", type="primary", icon=":material/model_training:",
                disabled=not window_ok, key="propensity.run")
result = None
if window_ok and (run or has_evaluation(ws, config)):
    with shows_errors():
        result = cached_evaluation(ws, config)


def saved_scores(target: str) -> None:
    """The saved model of ``target``: what it is, the bands, a user's reasons, the
    downloads and the removal."""
    score_col, band_col = SCORE_COLUMNS[target]
    saved = ws.prediction.targets.get(target)
    if saved is None or score_col not in ws.features.columns:
        return
    labels_cfg = saved["config"]["labels"]
    st.success(f"Saved: {MODELS[saved['model_key']].name}, cutoff "
               f"{inert(labels_cfg['cutoff'])}, {labels_cfg['horizon_days']}-day horizon, at "
               f"{inert(saved['saved'])}. Use `{score_col}` and `{band_col}` on the Segments "
               "and Rules pages; the Personas page shows each persona's share in the high "
               "band.", icon=":material/check_circle:")
    bands = ws.features[band_col].value_counts()
    st.caption("Bands now: " + ", ".join(f"{int(bands.get(b, 0)):,} {b}" for b in
                                         ("high", "medium", "low", "lapsed")
                                         if b in bands.index or b != "lapsed") + ".")
    ranked = ws.features[score_col].sort_values(ascending=False).dropna()
    user = st.selectbox("Why this score? Pick a user", ranked.index.astype(str).tolist()[:500],
                        index=None, key=f"propensity.{target}.user",
                        placeholder="Highest scores first", width=320)
    if user is not None:
        with shows_errors():
            score, band, reasons = explain_user(ws, target, user)
            st.markdown(f"**{inert(user)}**: score {score:.3f} ({inert(band)})")
            for sentence in reasons:
                st.markdown(f"- {inert(sentence)}")
    files = st.container(horizontal=True)
    file_version = (ws.version("predictions"), target)
    download_button("Download the scores (CSV)", key="propensity.download_scores",
                    version=file_version, container=files,
                    build=lambda: safe_csv_bytes(ws.features[[score_col, band_col]]),
                    file_name=f"{target}_scores.csv", mime="text/csv",
                    icon=":material/download:")
    download_button("Download the model (JSON)", key="propensity.download_model",
                    version=file_version, container=files,
                    build=lambda: json.dumps(saved_document(ws, target), indent=1),
                    file_name=f"{target}_model.json", mime="application/json",
                    icon=":material/download:",
                    help="Scores new data: python -m core predict score events.parquet "
                         f"--model {target}_model.json -o scores.csv")
    sql_ok = MODELS[saved["model_key"]].sql
    download_button("Download the model as SQL", key="propensity.download_sql",
                    version=file_version, container=files, disabled=not sql_ok,
                    build=lambda: model_sql(saved_model(ws, target), score_column=score_col),
                    file_name=f"{target}_model.sql", mime="text/plain",
                    icon=":material/code:",
                    help=None if sql_ok else "Gradient boosting (200 trees) has no single "
                                              "SQL expression; save the logistic model.")
    if files.button("Remove the saved scores", key="propensity.forget",
                    icon=":material/delete:", **edit_lock()):
        forget_propensity(ws, target)
        st.rerun()


if result is None:
    if window_ok:
        st.caption("Fitting takes a few seconds (three models, bootstrap intervals and "
                   "permutation importance).")
    saved_scores(target)
    st.stop()

# ----------------------------------------------------------------------------- results
show_notices(result.notices, infos="caption")
st.subheader("How well each model ranks the test users")
table = result.metrics_table()
shown = pd.DataFrame({
    "Model": table["model"],
    "ROC-AUC [95 %]": [f"{r.roc_auc:.3f} [{r.roc_auc_low:.3f}, {r.roc_auc_high:.3f}]"
                       for r in table.itertuples()],
    "PR-AUC [95 %]": [f"{r.pr_auc:.3f} [{r.pr_auc_low:.3f}, {r.pr_auc_high:.3f}]"
                      for r in table.itertuples()],
    "Brier": table["brier"].map("{:.3f}".format),
    "Lift, top 10 %": table["lift_top10"].map("{:.2f}×".format),
    "Precision": table["precision"].map("{:.1%}".format),
    "Recall": table["recall"].map("{:.1%}".format),
    "F1": table["f1"].map("{:.3f}".format)})
st.dataframe(shown, hide_index=True, width="stretch")
st.caption(f"Test users: {len(result.test_labels):,} at {spec.cutoff_ts:%Y-%m-%d}. ROC-AUC "
           "counts ties as half; PR-AUC is average precision (step-wise); intervals are 95 % "
           "percentile bootstrap over test users (200 resamples). Precision, recall and F1 at "
           "each model's default threshold, which flags as many users as were "
           f"{positive} at the training cutoff ({result.train_labels.mean():.1%}). "
           f"Best by test ROC-AUC: {MODELS[result.best].name}.")

curves, threshold_tab, calibration, personas, why = st.tabs(
    ["ROC and PR", "Threshold", "Calibration and gains", "Per persona", "Explanations"])
with curves:
    left, right = st.columns(2)
    left.plotly_chart(predict_charts.roc_chart(result), key="propensity.roc")
    right.plotly_chart(predict_charts.pr_chart(result), key="propensity.pr")

with threshold_tab:
    pick = st.selectbox("Model", list(result.evaluations), index=list(result.evaluations)
                        .index(result.best), format_func=lambda k: MODELS[k].name,
                        key="propensity.threshold_model", width=300)
    ev = result.evaluations[pick]
    threshold = st.slider("Flag users whose score is at least", 0.0, 1.0,
                          float(round(ev.threshold, 3)), 0.005, format="%.3f",
                          key=f"propensity.threshold.{pick}")
    at = at_threshold(result.test_labels.to_numpy(), ev.scores.to_numpy(), threshold)
    cols = st.columns(4)
    cols[0].metric("Precision", f"{at.precision:.1%}", help=f"Of the flagged, the share "
                   f"who {positive}.")
    cols[1].metric("Recall", f"{at.recall:.1%}", help=f"Of those who {positive}, the share "
                   "flagged.")
    cols[2].metric("F1", f"{at.f1:.3f}")
    cols[3].metric("Flagged", f"{at.flagged_share:.1%}", f"{at.tp + at.fp:,} users",
                   delta_color="off", delta_arrow="off")
    st.plotly_chart(predict_charts.confusion_chart(at, positive, negative),
                    key="propensity.confusion")

with calibration:
    left, right = st.columns(2)
    left.plotly_chart(predict_charts.calibration_chart(result), key="propensity.calibration")
    right.plotly_chart(predict_charts.gains_chart(result), key="propensity.gains")
    st.caption("Calibration: test users in 10 equal-count bins by score, the mean score "
               "against the observed rate; Brier is the mean squared error of the score. "
               "Gains: of everyone who " + positive + ", the share among the top x % by "
               "score; lift is that share over x.")

with personas:
    labels = ws.persona_labels()
    if labels is None:
        st.info("Cluster the users (Clustering page) to see the metrics per persona.",
                icon=":material/info:")
    else:
        ev = result.evaluations[result.best]
        groups = per_group(result.test_labels, ev.scores, labels, ev.threshold)
        colours = label_colours(ws.clusters["cluster"].astype(str), ws.personas.names)
        st.plotly_chart(predict_charts.group_chart(groups.table, positive, colours),
                        key="propensity.personas")
        persona_table = groups.table.rename(columns={
            "group": "Persona", "users": "Test users", "base_rate": f"Share {positive}",
            "mean_score": "Mean score", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC",
            "precision": "Precision", "recall": "Recall", "flagged_share": "Flagged"})
        for column in ("ROC-AUC", "PR-AUC"):
            persona_table[column] = persona_table[column].map(
                lambda v: "—" if pd.isna(v) else f"{v:.3f}")
        st.dataframe(persona_table, hide_index=True, width="stretch", column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in (f"Share {positive}", "Mean score", "Precision", "Recall", "Flagged")})
        st.caption(f"{MODELS[result.best].name} at its default threshold "
                   f"({ev.threshold:.3f}); personas as now clustered. "
                   + " ".join(inert(n) for n in groups.notes))

with why:
    st.plotly_chart(predict_charts.importance_chart(result.importance),
                    key="propensity.importance")
    if result.coefficients is not None:
        st.markdown("**Logistic regression coefficients** (change in log-odds per standard "
                    "deviation of the feature, after the transform)")
        st.dataframe(result.coefficients.head(15), hide_index=True, width="stretch",
                     column_config={"odds_ratio_per_sd": st.column_config.NumberColumn(
                         "odds ratio per sd", format="%.2f"),
                         "coefficient": st.column_config.NumberColumn(format="%.3f")})

# -------------------------------------------------------------------------------- save
st.subheader("Scores for every user")
score_col, band_col = SCORE_COLUMNS[target]
row = st.container(horizontal=True, vertical_alignment="bottom")
use = row.selectbox("Score with", list(result.evaluations),
                    index=list(result.evaluations).index(result.best),
                    format_func=lambda k: MODELS[k].name, key="propensity.use", width=260)
if row.button(f"Save {target} scores to the feature table", icon=":material/save:",
              key="propensity.save", **edit_lock()):
    with shows_errors(), st.spinner("Fitting at the cutoff and scoring every user..."):
        save_propensity(ws, result, use)
        st.rerun()
st.caption(f"The model learns again at the test cutoff (the latest labels the data has) "
           f"and scores every user on the features of the whole log: columns "
           f"`{score_col}` and `{band_col}` (high, medium, low"
           f"{', lapsed' if spec.active_within_days else ''}).")

saved_scores(target)
