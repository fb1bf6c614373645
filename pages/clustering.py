"""Clustering page: preprocess the chosen features, choose k, fit, and check the result."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.common.style import esc
from core.personas.profiles import standardised_difference
from core.segment import algorithms, charts
from core.segment.clustering import (
    MAX_EXACT_ROWS,
    MINIBATCH_SUGGESTED_ABOVE,
    ClusterConfig,
    k_distance,
)
from core.segment.preprocess import PreprocessConfig, suggest_log
from core.workspace import actions
from core.workspace.segments import segment_memberships
from ui.cache import features_version, preprocessed
from ui.errors import show_notices, shows_errors
from ui.progress import progress_bar
from ui.state import require_features, workspace
from ui.text import inert

ws = workspace()
st.title("Clustering")
st.caption("Find the groups the data suggests: prepare the features, compare k, fit an "
           "algorithm and check that the clusters are real.")

features = require_features(ws)
numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]


def preprocessing_settings() -> PreprocessConfig:
    saved = ws.clustering.preprocess if ws.clustering else None
    with st.expander("Preprocessing", icon=":material/tune:", expanded=saved is None):
        chosen_before = saved.features if saved else ws.feature_info.selected
        default = [c for c in chosen_before if c in numeric]
        chosen = st.multiselect("Features", numeric, default=default or numeric[:8],
                                key="cluster.features",
                                help="Defaults to the selection made on the Features page.")
        if not chosen:
            st.warning("Choose at least one feature.")
            st.stop()
        skew, suggested = suggest_log(features, chosen)
        log_default = saved.log_features if saved else suggested
        logs = st.multiselect(
            "Log transform log(1 + x)", chosen,
            default=[c for c in log_default if c in chosen], key="cluster.log",
            help="Suggested for non-negative features with skew above 2: "
                 + (", ".join(f"{inert(f)} ({skew[f]:.1f})" for f in suggested) or "none"))
        cols = st.columns(4)
        missing = cols[0].selectbox("Missing values", ["impute", "exclude"],
                                    format_func={"impute": "Impute the median",
                                                 "exclude": "Exclude the user"}.get,
                                    key="cluster.missing")
        method = cols[1].selectbox("Outliers", ["iqr", "zscore", "none"],
                                   format_func={"iqr": "IQR rule", "zscore": "z-score",
                                                "none": "Keep as they are"}.get,
                                   key="cluster.outliers")
        threshold = cols[2].number_input(
            "Threshold", min_value=0.5, max_value=10.0,
            value=1.5 if method == "iqr" else 3.0, step=0.5, key=f"cluster.threshold.{method}",
            help="IQR: multiples of the interquartile range beyond the quartiles. "
                 "z-score: standard deviations from the mean.", disabled=method == "none")
        action = cols[3].selectbox("Outlier handling", ["clip", "flag", "exclude"],
                                   format_func={"clip": "Clip (winsorise)", "flag": "Flag only",
                                                "exclude": "Exclude the user"}.get,
                                   key="cluster.action", disabled=method == "none")
        cols = st.columns(4)
        scaling = cols[0].selectbox("Scaling", ["standard", "robust", "minmax", "none"],
                                    key="cluster.scaling")
        pca = cols[1].selectbox("PCA before clustering", ["none", "components", "variance"],
                                format_func={"none": "No", "components": "Number of components",
                                             "variance": "Share of variance"}.get,
                                key="cluster.pca")
        components = cols[2].number_input("Components", 1, max(1, len(chosen)),
                                          min(5, len(chosen)), key="cluster.pca_n",
                                          disabled=pca != "components")
        variance = cols[3].slider("Variance kept", 0.5, 1.0, 0.9, 0.05, key="cluster.pca_var",
                                  disabled=pca != "variance")
    return PreprocessConfig(features=tuple(chosen), log_features=tuple(logs),
                            missing=missing, outlier_method=method,
                            outlier_threshold=float(threshold), outlier_action=action,
                            scaling=scaling, pca=pca, pca_components=int(components),
                            pca_variance=float(variance))


def sweep_section(pre: PreprocessConfig) -> None:
    st.subheader("Choose k")
    cols = st.columns([2, 2, 1.4], vertical_alignment="bottom")
    low, high = cols[0].slider("k range", 2, 20, (2, 10), key="cluster.k_range")
    options = algorithms.sweepable()
    algorithm = cols[1].selectbox(
        "Algorithm for the sweep", options, format_func=algorithms.label,
        index=1 if len(features) > MINIBATCH_SUGGESTED_ABOVE else 0,
        key="cluster.sweep_algorithm")
    if cols[2].button("Run sweep", key="cluster.sweep", icon=":material/query_stats:"):
        update, close = progress_bar("Sweep")
        with shows_errors():
            actions.sweep_into(ws, pre, list(range(low, high + 1)), algorithm, update)
        close()
    if ws.sweep:
        table = pd.DataFrame(ws.sweep.table)
        st.plotly_chart(charts.sweep_panels(table, ws.sweep.knee_k, ws.sweep.suggested_k),
                        key="cluster.chart.sweep")
        st.success(f"Suggested: **k = {ws.sweep.suggested_k}**. {ws.sweep.reason}",
                   icon=":material/lightbulb:")
        st.button(f"Use k = {ws.sweep.suggested_k}", key="cluster.use_suggested",
                  on_click=st.session_state.update,
                  args=({"cluster.k": int(ws.sweep.suggested_k)},))


#: The input of each clustering parameter an algorithm declares (random_state is the
#: Seed, shown for every algorithm: it also draws the sample of sampled ones).
def _k_input(col) -> int:
    suggested = ws.sweep.suggested_k if ws.sweep else 6
    st.session_state.setdefault("cluster.k", int(suggested))
    return int(col.number_input("k", 2, 50, key="cluster.k"))


def _eps_input(col) -> float:
    st.session_state.setdefault("cluster.eps", 0.5)
    return float(col.number_input("eps", 0.01, 50.0, step=0.05, key="cluster.eps"))


PARAMETER_INPUTS = {
    "k": _k_input,
    "linkage": lambda col: col.selectbox("Linkage", ["ward", "average", "complete"],
                                         key="cluster.linkage"),
    "eps": _eps_input,
    "min_samples": lambda col: int(col.number_input("Min samples", 2, 500, 10,
                                                    key="cluster.min_samples")),
    "min_cluster_size": lambda col: int(col.number_input("Min cluster size", 5, 5000, 50,
                                                         key="cluster.min_cluster_size")),
}


def fit_section(pre: PreprocessConfig) -> None:
    st.subheader("Fit")
    n = len(features)
    cols = st.columns(4)
    keys = list(algorithms.REGISTRY)
    default_algo = "minibatch" if n > MINIBATCH_SUGGESTED_ABOVE else "kmeans"
    algorithm = cols[0].selectbox("Algorithm", keys, format_func=algorithms.label,
                                  index=keys.index(default_algo), key="cluster.algorithm")
    spec = algorithms.REGISTRY[algorithm]
    shown = [p for p in spec.parameters if p in PARAMETER_INPUTS]
    params = {name: PARAMETER_INPUTS[name](col)
              for name, col in zip(shown, cols[1:3], strict=False)}
    seed = int(cols[3].number_input("Seed", 0, 2**31 - 1, 0, key="cluster.seed"))
    if algorithm == "dbscan":
        k_distance_plot(pre, params.get("min_samples", 10))
    if algorithm == "agglomerative":
        with st.expander("Dendrogram", icon=":material/account_tree:"):
            matrix, _, _ = preprocessed(features_version(ws), pre.to_dict(), features)
            st.plotly_chart(charts.dendrogram(matrix, params["linkage"]),
                            key="cluster.chart.dendrogram")
    if spec.sampled and n > MAX_EXACT_ROWS:
        st.caption(f"{spec.label} will run on a stratified sample of "
                   f"{MAX_EXACT_ROWS:,} of {n:,} users; the rest are assigned afterwards.")
    if st.button("Cluster", type="primary", key="cluster.fit", icon=":material/hub:"):
        update, close = progress_bar("Clustering")
        with shows_errors():
            actions.cluster_into(ws, pre, ClusterConfig(algorithm=algorithm,
                                                         random_state=seed, **params), update)
        close()


def k_distance_plot(pre: PreprocessConfig, k: int) -> None:
    """Sorted distance to the k-th neighbour: eps sits where the curve bends up."""
    with st.expander("Choose eps with the k-distance plot", icon=":material/show_chart:"):
        matrix, _, _ = preprocessed(features_version(ws), pre.to_dict(), features)
        curve, eps = k_distance(matrix, k=k)
        fig = px.line(x=range(len(curve)), y=curve,
                      labels={"x": "users, sorted", "y": f"distance to neighbour {k}"})
        fig.add_hline(y=eps, line_dash="dash", line_color="#C62828")
        fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                          template="plotly_white",
                          title=f"Knee at {eps:.2f}: a good first eps (on up to 5,000 users)")
        st.plotly_chart(fig, key="cluster.chart.kdist")
        # A callback runs before the next run, when the eps box can still be changed.
        st.button(f"Use eps = {eps:.2f}", key="cluster.use_eps",
                  on_click=st.session_state.update, args=({"cluster.eps": round(eps, 2)},))


def cross_table(clusters: pd.DataFrame) -> None:
    """Clusters against rule segments: where the two views of the users agree."""
    if not ws.segment_rules.rules:
        st.caption("Define rule segments on the **Segments** page to compare them with the "
                   "clusters here.")
        return
    membership = segment_memberships(ws, users=clusters.index).matrix
    table = membership.groupby(clusters["cluster"]).sum()
    table.insert(0, "Users", clusters["cluster"].value_counts())
    st.markdown("**Clusters × rule segments** (users in both)")
    st.dataframe(table, width="stretch")


def results_section() -> None:
    clusters, section = ws.clusters, ws.clustering
    if clusters is None or section is None:
        st.info("No clusters yet: choose the settings above and press **Cluster**.")
        return
    report = section.report
    st.subheader(f"{algorithms.label(section.config.algorithm)}: {section.n_clusters} clusters")
    cols = st.columns(4)
    cols[0].metric("Users clustered", f"{report.users_out:,}", border=True)
    cols[1].metric("Excluded", f"{report.excluded_missing + report.excluded_outliers:,}",
                   border=True, help=f"{report.excluded_missing:,} for missing values, "
                                     f"{report.excluded_outliers:,} as outliers.")
    cols[2].metric("Noise", f"{section.noise:,}", border=True)
    cols[3].metric("Outliers", f"{sum(report.outliers.values()):,}", border=True,
                   help="Values beyond the outlier bounds, counted per feature below.")
    show_notices(section.notices)
    left, right = st.columns([2, 3])
    left.plotly_chart(charts.cluster_sizes(clusters["cluster"]), key="cluster.chart.sizes")
    chosen = list(section.preprocess.features)
    # The same standardised difference as the persona cards, so both pages agree.
    profile = standardised_difference(features.loc[clusters.index, chosen].astype(float),
                                      clusters["cluster"])
    right.plotly_chart(charts.profile_heatmap(profile.rename(index=esc, columns=esc)),
                       key="cluster.chart.profile")
    with st.expander("Preprocessing report"):
        rows = pd.DataFrame({
            "Feature": chosen,
            "Log": [f in section.preprocess.log_features for f in chosen],
            "Skew": [report.skew.get(f) for f in chosen],
            "Imputed": [report.imputed.get(f, 0) for f in chosen],
            "Outliers": [report.outliers.get(f, 0) for f in chosen],
        })
        st.dataframe(rows, hide_index=True, column_config={
            "Skew": st.column_config.NumberColumn(format="%.2f")})
        if report.explained_variance:
            share = pd.Series(report.explained_variance).cumsum()
            st.caption("Cumulative explained variance by component: "
                       + ", ".join(f"PC{i + 1} {v:.0%}" for i, v in share.items()))
    stability_section()
    cross_table(clusters)


def stability_section() -> None:
    if ws.clustering.config.algorithm not in algorithms.with_k():
        st.caption("Stability by refitting is measured for "
                   + ", ".join(algorithms.label(a) for a in algorithms.with_k()) + ".")
        return
    cols = st.columns([1.5, 3])
    runs = cols[0].number_input("Bootstrap refits", 3, 50, 10, key="cluster.runs")
    if cols[0].button("Check stability", key="cluster.stability",
                      icon=":material/verified:"):
        update, close = progress_bar("Stability")
        with shows_errors():
            actions.stability_into(ws, int(runs), update)
        close()
    s = ws.clustering.stability
    if s:
        text = (f"Adjusted Rand index between {s.runs} bootstrap refits and this "
                f"clustering: **{s.mean:.2f} ± {s.sd:.2f}** (1 = identical).")
        if s.unstable:
            cols[1].warning(text + " Below 0.75: these clusters are not stable; try another "
                            "k, other features or another algorithm.", icon=":material/warning:")
        else:
            cols[1].success(text + " Stable.", icon=":material/check_circle:")


pre_config = preprocessing_settings()
sweep_section(pre_config)
st.divider()
fit_section(pre_config)
st.divider()
results_section()
