"""Clustering page: preprocess the chosen features, choose k, fit, and check the result."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.common.style import esc
from core.segment import algorithms, charts, run_charts
from core.segment.algorithms import KMEANS_N_INIT
from core.segment.clustering import (
    JACCARD_HIGHLY_STABLE,
    JACCARD_STABLE,
    JACCARD_UNSTABLE,
    MAX_EXACT_ROWS,
    MINIBATCH_SUGGESTED_ABOVE,
    SWEEP_N_INIT,
    ClusterConfig,
    jaccard_verdict,
    k_distance,
)
from core.segment.labels import sorted_labels
from core.segment.preprocess import PreprocessConfig
from core.segment.runs import (
    MAX_RUNS,
    SILHOUETTE_SAMPLE,
    ClusterRun,
    current_run_number,
    describe,
    settings_changes,
)
from core.workspace import actions
from ui.cache import (
    cluster_profile,
    clusters_by_segment,
    features_version,
    kept_figure,
    log_suggestion,
    preprocessed,
    run_comparison,
    segments_version,
)
from ui.editing import edit_lock
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


def settings_state(pre: PreprocessConfig, config: ClusterConfig) -> dict:
    """The widget values that show these settings (keys of the widgets below)."""
    chosen = [f for f in pre.features if f in numeric]
    return {
        "cluster.features": chosen,
        "cluster.log": [f for f in pre.log_features if f in chosen],
        "cluster.missing": pre.missing, "cluster.outliers": pre.outlier_method,
        f"cluster.threshold.{pre.outlier_method}": float(pre.threshold),
        "cluster.action": pre.outlier_action, "cluster.scaling": pre.scaling,
        "cluster.pca": pre.pca,
        "cluster.pca_n": max(1, min(int(pre.pca_components), max(1, len(chosen)))),
        "cluster.pca_var": float(pre.pca_variance),
        "cluster.algorithm": config.algorithm, "cluster.k": int(config.k),
        "cluster.linkage": config.linkage, "cluster.eps": float(config.eps),
        "cluster.min_samples": int(config.min_samples),
        "cluster.min_cluster_size": int(config.min_cluster_size),
        "cluster.seed": int(config.random_state),
    }


def use_settings(pre: PreprocessConfig, config: ClusterConfig) -> None:
    """Put a run's settings into the widgets (a button callback, before the next run)."""
    st.session_state.update(settings_state(pre, config))


# The widgets start from the settings of the clustering shown, so the page opens up to
# date; the features and log lists take theirs from the saved clustering below.
if ws.clustering is not None:
    for _key, _value in settings_state(ws.clustering.preprocess, ws.clustering.config).items():
        if _key not in ("cluster.features", "cluster.log"):
            st.session_state.setdefault(_key, _value)


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
        skew, suggested = log_suggestion(features_version(ws), features, tuple(chosen))
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
    if cols[2].button("Run sweep", key="cluster.sweep", icon=":material/query_stats:",
                      **edit_lock()):
        update, close = progress_bar("Sweep")
        with shows_errors():
            # The matrix of these settings, kept for the k-distance plot and dendrogram.
            matrix, _, _ = preprocessed(features_version(ws), pre.to_dict(), features)
            actions.sweep_into(ws, pre, list(range(low, high + 1)), algorithm, update,
                               matrix=matrix)
        close()
    if ws.sweep:
        sweep = ws.sweep
        # A sweep raises no revision counter: its own contents are the key.
        key = ("sweep", ws.id, repr(sweep.table), sweep.knee_k, sweep.suggested_k)
        st.plotly_chart(kept_figure(key, lambda: charts.sweep_panels(
            pd.DataFrame(sweep.table), sweep.knee_k, sweep.suggested_k)),
                        key="cluster.chart.sweep")
        st.caption(sweep_caption(sweep))
        st.success(f"Suggested: **k = {ws.sweep.suggested_k}**. {ws.sweep.reason}",
                   icon=":material/lightbulb:")
        st.button(f"Use k = {ws.sweep.suggested_k}", key="cluster.use_suggested",
                  on_click=st.session_state.update,
                  args=({"cluster.k": int(ws.sweep.suggested_k)},))


def sweep_caption(sweep) -> str:
    """How the sweep measured each k (its conventions)."""
    fits = (f"K-Means with {SWEEP_N_INIT} k-means++ restarts per k (the fit below uses "
            f"{KMEANS_N_INIT})" if sweep.algorithm == "kmeans"
            else f"{algorithms.label(sweep.algorithm)} as fitted below")
    sample = f"{sweep.silhouette_sample:,}" if sweep.silhouette_sample else "a sample of"
    return (f"Each k: {fits}. Inertia, Davies-Bouldin and Calinski-Harabasz on every "
            f"user; silhouette on {sample} random users, the same users for every k.")


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


def fit_section(pre: PreprocessConfig) -> ClusterConfig:
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
    shown = ClusterConfig(algorithm=algorithm, random_state=seed, **params)
    if st.button("Cluster", type="primary", key="cluster.fit", icon=":material/hub:",
                 **edit_lock()):
        update, close = progress_bar("Clustering")
        with shows_errors():
            actions.cluster_into(ws, pre, shown, update)
            # The new run joins the comparison below, with the two before it.
            st.session_state["cluster.compare_runs"] = [r.name for r in ws.runs[-3:]]
        close()
    return shown


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
    table = clusters_by_segment(f"{segments_version(ws)}:{ws.version('clusters')}", ws)
    st.markdown("**Clusters × rule segments** (users in both)")
    st.dataframe(table, width="stretch")


def out_of_date(pre: PreprocessConfig, shown: ClusterConfig) -> list[str]:
    """The settings on screen that differ from those of the clustering shown."""
    section = ws.clustering
    return settings_changes(pre, shown, section.preprocess, section.config)


def results_section(pre: PreprocessConfig, shown: ClusterConfig) -> None:
    clusters, section = ws.clusters, ws.clustering
    if clusters is None or section is None:
        st.info("No clusters yet: choose the settings above and press **Cluster**.")
        return
    report = section.report
    changes = out_of_date(pre, shown)
    st.subheader(f"{algorithms.label(section.config.algorithm)}: {section.n_clusters} clusters")
    if changes:
        st.warning(f"These results are from {inert(describe(section.config))}; the settings "
                   f"above have changed ({inert('; '.join(changes))}): press **Cluster** to "
                   "update. The charts below are faded until then.",
                   icon=":material/update:")

    version = ws.version("features", "clusters")

    def draw(name: object, build):
        """The chart ``name`` of the clustering shown, faded when the settings changed
        (a faded copy of the kept chart: copying costs half of drawing it again)."""
        plain = kept_figure((name, version, False), build)
        if not changes:
            return plain
        return kept_figure((name, version, True),
                           lambda: run_charts.out_of_date(go.Figure(plain)))

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
    left.plotly_chart(draw("sizes", lambda: charts.cluster_sizes(clusters["cluster"])),
                      key="cluster.chart.sizes")
    chosen = list(section.preprocess.features)
    # The same standardised difference as the persona cards, so both pages agree.
    profile = cluster_profile(version, features, clusters, tuple(chosen))
    right.plotly_chart(draw("profile", lambda: charts.profile_heatmap(
        profile.rename(index=esc, columns=esc))), key="cluster.chart.profile")
    if changes:
        st.caption(f":grey[Faded: results of {inert(describe(section.config))}, not of the "
                   "settings above.]")
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
    stability_section(draw)
    cross_table(clusters)


def shown_run() -> ClusterRun | None:
    """The run the clustering shown comes from."""
    section = ws.clustering
    if section is None or ws.clusters is None:
        return None
    number = current_run_number(ws.runs, section.preprocess, section.config, len(ws.clusters))
    return next((r for r in ws.runs if r.number == number), None)


def stability_section(draw) -> None:
    st.markdown("**Stability**")
    if ws.clustering.config.algorithm not in algorithms.with_k():
        st.caption("Stability by refitting is measured for "
                   + ", ".join(algorithms.label(a) for a in algorithms.with_k()) + ".")
        return
    cols = st.columns([1.5, 3])
    runs = cols[0].number_input("Bootstrap refits", 3, 50, 10, key="cluster.runs")
    if cols[0].button("Check stability", key="cluster.stability",
                      icon=":material/verified:", **edit_lock()):
        update, close = progress_bar("Stability")
        with shows_errors():
            actions.stability_into(ws, int(runs), update)
        close()
    s = ws.clustering.stability
    if not s:
        cols[1].caption("Refits the clustering, with its settings, on bootstrap samples of "
                        "the users: overall agreement (adjusted Rand index, every user "
                        "assigned to each refit's nearest centre) and each cluster's "
                        "stability (Hennig's clusterwise Jaccard on the resampled users, as "
                        "in R's fpc::clusterboot).")
        return
    text = (f"Adjusted Rand index between this clustering and {s.runs} refits on bootstrap "
            "samples of the users, every user assigned to each refit's nearest centre: "
            f"**{s.mean:.2f} ± {s.sd:.2f}** (1 = identical).")
    if s.unstable:
        cols[1].warning(text + " Below 0.75: these clusters are not stable; try another "
                        "k, other features or another algorithm.", icon=":material/warning:")
    else:
        cols[1].success(text + " Stable.", icon=":material/check_circle:")
    run = shown_run()
    if run is None or not run.cluster_stability:
        return
    values = pd.Series(run.cluster_stability, dtype=float)
    left, right = st.columns([1.1, 1])
    left.plotly_chart(draw(("stability", run.number, *sorted(run.cluster_stability.items())),
                           lambda: run_charts.cluster_stability(values)),
                      key="cluster.chart.cluster_stability")
    order = sorted_labels(values.index)
    names = ws.personas.names if ws.personas.is_for(ws.clusters) else {}
    table = pd.DataFrame({  # the persona last: the numbers stay in view when it is long
        "Cluster": order,
        "Mean Jaccard": [values[c] for c in order],
        "Reading": [jaccard_verdict(values[c]) for c in order],
        "Persona": [names.get(c, "") for c in order],
    })
    if not any(table["Persona"]):
        table = table.drop(columns="Persona")
    right.dataframe(table, hide_index=True, width="stretch", column_config={
        "Mean Jaccard": st.column_config.NumberColumn(format="%.2f")})
    right.caption(
        f"Hennig's clusterwise stability, as in R's fpc::clusterboot: on each of the "
        f"{s.runs} bootstrap samples, each cluster is matched with the most similar "
        "cluster of the refit (largest Jaccard index); the mean over the refits is its "
        f"stability. Below {JACCARD_UNSTABLE:g} unstable, above {JACCARD_STABLE:g} stable, "
        f"above {JACCARD_HIGHLY_STABLE:g} highly stable.")


def runs_section() -> None:
    st.subheader("Runs")
    runs = ws.runs
    if not runs:
        st.caption("Every fit is kept here as a run, to compare settings side by side.")
        return
    st.caption(f"Every fit is kept as a run: the last {MAX_RUNS} are kept. Silhouette is "
               f"measured on a random sample of {SILHOUETTE_SAMPLE:,} users when a run has "
               "more; Davies-Bouldin on every user (noise left out of both). Agreement "
               "between runs is the adjusted Rand index on the users both clustered "
               "(1 = the same clusters, about 0 = chance).")
    current = shown_run()
    key = ws.version("features") + ":" + ",".join(f"{r.number}/{r.stability}" for r in runs)
    comparison = run_comparison(key, runs, features.index,
                                None if current is None else current.number)
    integers = ("Features", "Users", "Clusters", "Noise", "Largest cluster",
                "Smallest cluster")
    config = {c: st.column_config.NumberColumn(format="localized") for c in integers}
    config.update({c: st.column_config.NumberColumn(format="%.3f") for c in (
        "Silhouette", "Davies-Bouldin", "Stability (ARI)", "Least stable cluster",
        "Agreement with shown run")})
    config["Settings"] = st.column_config.TextColumn(width="medium")
    # What tells runs apart first; counts and the time after.
    first = ["Run", "Settings", "Clusters", "Silhouette", "Davies-Bouldin",
             "Stability (ARI)", "Least stable cluster",
             "Agreement with shown run"]
    table = comparison.table
    table = table[[c for c in first if c in table] + [c for c in table if c not in first]]
    st.dataframe(table.iloc[::-1], hide_index=True, width="stretch",
                 column_config=config, key="cluster.runs_table")
    names = [r.name for r in runs]
    chosen = [n for n in st.session_state.get("cluster.compare_runs", names[-3:])
              if n in names]
    st.session_state["cluster.compare_runs"] = chosen
    picked = st.multiselect("Compare runs", names, key="cluster.compare_runs",
                            help="Two or more runs: their cluster sizes and how far they "
                                 "agree on who is clustered together.")
    if len(picked) < 2:
        st.caption("Choose two or more runs to compare them.")
    else:
        left, right = st.columns([1, 1])
        sizes = comparison.sizes[comparison.sizes["Run"].isin(picked)]
        order = {n: i for i, n in enumerate(picked)}
        sizes = sizes.sort_values("Run", key=lambda c: c.map(order), kind="stable")
        shown_runs = (key, tuple(picked))
        left.plotly_chart(kept_figure(("run sizes", *shown_runs),
                                      lambda: run_charts.run_sizes(sizes)),
                          key="cluster.chart.run_sizes")
        right.plotly_chart(kept_figure(("run agreement", *shown_runs),
                                       lambda: run_charts.ari_heatmap(
                                           comparison.ari.loc[picked, picked],
                                           comparison.common.loc[picked, picked])),
                           key="cluster.chart.run_ari")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        restore = st.selectbox("Fit again with the settings of", names[::-1],
                               key="cluster.restore_run", width=260,
                               help="Puts that run's settings into the widgets above; "
                                    "press Cluster to fit it again (same seed, same "
                                    "clusters).")
        run = next(r for r in runs if r.name == restore)
        st.button("Use these settings", key="cluster.use_run", icon=":material/restore:",
                  on_click=use_settings, args=(run.preprocess_config, run.cluster_config))


pre_config = preprocessing_settings()
sweep_section(pre_config)
st.divider()
shown_config = fit_section(pre_config)
st.divider()
results_section(pre_config, shown_config)
st.divider()
runs_section()
