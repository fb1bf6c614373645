"""Map page: users projected to 2-D or 3-D (PCA, UMAP, t-SNE), coloured by cluster, segment
or feature; select a group to profile it, save it as a segment or download it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.common.export import safe_csv_bytes
from core.segment import charts
from core.segment.labels import label_colours
from core.segment.preprocess import PreprocessConfig
from core.segment.projection import (
    TSNE_MAX_SAMPLE,
    TSNE_MAX_SAMPLE_3D,
    UMAP_METRICS,
    UMAP_PREVIEW_SIZE,
    Projection,
    selection_profile,
    tsne_default_sample,
    tsne_max_sample,
    tsne_seconds,
    umap_seconds,
    umap_warm_up_seconds,
)
from core.workspace.segments import save_segment
from ui.cache import (
    has_umap_map,
    map_matrix,
    map_projection,
    segment_labels,
    tsne_map,
    umap_map,
)
from ui.downloads import download_button, frame_version
from ui.editing import edit_lock
from ui.errors import shows_errors
from ui.progress import progress_bar
from ui.state import require_features, workspace
from ui.text import inert
from ui.warmup import umap_warm_up

#: Points drawn on the map; more would make the browser slow (the rest are sampled out).
MAX_POINTS = 20_000
#: Features shown when hovering over a user.
HOVER_FEATURES = 3
#: Up to this many users UMAP runs seeded (the same map every time, on one core);
#: above it, unseeded on every core to keep 100,000 users within the budget.
SEEDED_UMAP_MAX_USERS = 20_000


def about(seconds: float) -> str:
    """A wait as the page announces it, from the measured models in
    ``core.segment.projection`` (``tsne_seconds``, ``umap_seconds``)."""
    return f"about {max(1, round(seconds)):,} s"


ws = workspace()
st.title("Map")
st.caption("Users placed by their behavior: nearby users behave alike. Drag a box or a "
           "lasso over a group to see how it differs from everyone and save it as a segment.")

features = require_features(ws)

if ws.clustering is not None:
    config = ws.clustering.preprocess
    st.caption("The clustering's own preprocessing, as fitted on the Clustering page: "
               f"{len(config.features)} features, {config.scaling} scaling.")
else:
    config = PreprocessConfig(features=tuple(ws.feature_info.selected))
    st.caption(f"The {len(config.features)} features selected on the Features page, "
               "standard scaling. Set other preprocessing on the Clustering page.")


def wait_for_umap(metric: str) -> None:
    """Block with a progress bar until the background compilation has compiled maps with
    ``metric``."""
    warm = umap_warm_up()
    ready = warm.ready(metric)
    if ready.is_set():
        return
    expected = umap_warm_up_seconds(metric)
    update, close = progress_bar("Preparing UMAP (a one-time compile after the app starts)")
    while not ready.wait(0.5):
        waited = warm.waited
        update(min(waited / expected, 0.99),
               f"{waited:.0f} s of {about(expected)}" if waited < expected
               else f"{waited:.0f} s; longer than usual, the machine is busy")
    close()


def umap_view(dims: int, users: int) -> Projection:
    cols = st.columns(4)
    params = {
        "n_neighbors": cols[0].slider("Neighbours", 5, 100, 15, key="map.umap_neighbors",
                                      help="More neighbours keep the global shape; fewer "
                                           "keep local detail."),
        "min_dist": cols[1].slider("Minimum distance", 0.0, 0.99, 0.1, 0.01,
                                   key="map.umap_min_dist",
                                   help="Smaller values pack similar users more tightly."),
        "metric": cols[2].selectbox("Metric", UMAP_METRICS, key="map.umap_metric"),
    }
    # A seed makes UMAP run on one thread: 12 s for 20,000 users here; above, unseeded
    # on both cores (23 s for 100,000; bench/maps_results.json).
    seeded = users <= SEEDED_UMAP_MAX_USERS
    params["random_state"] = 0 if seeded else None
    wait_for_umap(params["metric"])
    if users <= UMAP_PREVIEW_SIZE or has_umap_map(version, dims, params, None):
        return full_umap(dims, params, users)
    k = params["n_neighbors"]
    wait = about(umap_seconds(UMAP_PREVIEW_SIZE, seeded, preview=True, n_neighbors=k))
    with st.spinner(f"Quick preview on {UMAP_PREVIEW_SIZE:,} users ({wait})…"):
        projection = umap_map(version, dims, params, UMAP_PREVIEW_SIZE, matrix, index)
    if cols[3].button(f"Map all {users:,} users", key="map.umap_full", type="primary",
                      help="The preview places a stratified sample; the full map places "
                           f"everyone ({about(umap_seconds(users, seeded, n_neighbors=k))} here)."):
        return full_umap(dims, params, users)
    return projection


def full_umap(dims: int, params: dict, users: int) -> Projection:
    wait = about(umap_seconds(users, params["random_state"] is not None,
                              n_neighbors=params["n_neighbors"]))
    update, close = progress_bar(f"Placing all {users:,} users with UMAP ({wait})")
    projection = umap_map(version, dims, params, None, matrix, index, update)
    close()
    return projection


def tsne_view(dims: int, users: int) -> Projection:
    cols = st.columns(3)
    top = min(users, tsne_max_sample(dims))
    # A sample per view: 3-D (Barnes-Hut) is slower and allows fewer users.
    size = cols[0].number_input("Sample of users", 10, top, min(top, tsne_default_sample(dims)),
                                step=500, key="map.tsne_sample" if dims == 2
                                else "map.tsne_sample_3d",
                                help=f"t-SNE's time grows with the users, so it places a "
                                     f"stratified sample (at most {TSNE_MAX_SAMPLE:,} in "
                                     f"2-D, {TSNE_MAX_SAMPLE_3D:,} in 3-D).")
    perplexity = cols[1].slider("Perplexity", 5, 50, 30, key="map.tsne_perplexity",
                                help="About how many neighbours each user keeps close.")
    wait = about(tsne_seconds(int(size), dims, perplexity))
    cols[2].caption(f"t-SNE of {int(size):,} users in {dims}-D takes {wait} here.")
    with st.spinner(f"t-SNE on {int(size):,} users ({wait})…"):
        return tsne_map(version, dims, float(perplexity), int(size), matrix, index)


def colour_column(option: str, index: pd.Index) -> pd.Series:
    if option == "Cluster":
        return ws.clusters["cluster"].reindex(index).fillna("Not clustered")
    if option == "Persona":
        return ws.persona_labels().reindex(index).fillna("Not clustered")
    if option == "Rule segment":
        return segment_labels(ws.version("features", "segments"), ws).reindex(index)
    return features.loc[index, option]


def caption_for(projection: Projection) -> str:
    if projection.method == "PCA":
        return (f"PCA: the axes carry {sum(projection.explained):.0%} of the variance ("
                + ", ".join(f"PC{i + 1} {v:.0%}" for i, v in enumerate(projection.explained))
                + ").")
    placed = (f"a stratified sample of {projection.sample_size:,} of "
              f"{projection.total_users:,} users" if projection.sample_size
              else f"all {projection.total_users:,} users")
    seeded = "" if projection.method != "UMAP" else (
        " Seeded: the same map every time." if projection.seeded
        else " Unseeded, on every core for speed: a recomputed map may differ a little.")
    return (f"{projection.method} of {placed}; distances between far-apart groups are not "
            f"meaningful, only who sits near whom.{seeded}")


with shows_errors():
    version, matrix, index, names = map_matrix(ws, config.to_dict())
    users = len(index)
    cols = st.columns([1.2, 1, 1.5, 1.7])
    method = cols[0].radio("Method", ["PCA", "UMAP", "t-SNE"], horizontal=True,
                           key="map.method")
    dims = cols[1].radio("View", [2, 3], format_func=lambda d: f"{d}-D", horizontal=True,
                         key="map.dims", disabled=len(names) < 3)
    clusters = ws.clusters
    # Personas first once they are named (the default), else clusters.
    options = (["Persona"] if clusters is not None and ws.personas.names else []) \
        + (["Cluster"] if clusters is not None else []) \
        + (["Rule segment"] if ws.segment_rules.rules else []) + list(config.features)
    colour = cols[2].selectbox("Colour by", options, key="map.colour")
    if method == "UMAP":
        projection = umap_view(dims, users)
    elif method == "t-SNE":
        projection = tsne_view(dims, users)
    else:
        projection = map_projection(version, dims, matrix, index, names)
    cols[3].caption(caption_for(projection))

    plot = projection.coords.copy()
    if len(plot) > MAX_POINTS:
        plot = plot.sample(MAX_POINTS, random_state=0)
        st.caption(f"Drawing a random {MAX_POINTS:,} of the {len(projection.coords):,} "
                   f"placed users to keep the browser responsive.")
    plot[colour] = colour_column(colour, plot.index).to_numpy()
    hover = [f for f in config.features if f != colour][:HOVER_FEATURES]
    for feature in hover:
        plot[feature] = features.loc[plot.index, feature].to_numpy()
    plot["user_id"] = plot.index.astype(str)
    show_arrows = method == "PCA" and dims == 2 and st.toggle(
        "Feature arrows (biplot)", value=True, key="map.biplot",
        help="Each arrow shows the direction in which a feature grows on the map; longer "
             "arrows drive the axes more.")
    # Clusters and personas in the colours they have on every other page.
    colours = label_colours(clusters["cluster"].unique(), ws.personas.names) \
        if colour in ("Cluster", "Persona") else None
    fig = charts.projection_scatter(
        plot, list(projection.coords.columns), colour,
        hover=hover,
        loadings=projection.loadings if show_arrows else None, colours=colours)
    if dims == 3:
        st.plotly_chart(fig, key="map.chart3d")
        st.caption("Selection works on the 2-D view; switch back to select users.")
        selection = {}
    else:
        selection = st.plotly_chart(fig, key="map.chart", on_select="rerun",
                                    selection_mode=("box", "lasso")).selection
    selected = pd.Index([p["customdata"][0] for p in selection.get("points", [])
                         if p.get("customdata")]).unique()

    if show_arrows:
        shown = charts.biplot_features(projection.loadings)
        st.caption(f"Arrows: the {len(shown)} of {len(projection.loadings)} features with "
                   f"the longest loadings on PC1 and PC2 ({', '.join(map(inert, shown))}); "
                   "all loadings are in the table below.")
    if projection.loadings is not None:
        with st.expander("Loadings (how each feature drives the axes)"):
            st.dataframe(projection.loadings.round(3), width="stretch")

    st.subheader("Selection")
    if selected.empty:
        st.info("Drag a box or a lasso over some points to select users.",
                icon=":material/select:")
    else:
        st.markdown(f"**{len(selected):,} users selected** "
                    f"({len(selected) / len(projection.coords):.1%} of those on the map).")
        profile = selection_profile(features, selected)
        st.dataframe(profile.head(12), width="stretch", column_config={
            "Selected": st.column_config.NumberColumn(format="%.3g"),
            "Everyone": st.column_config.NumberColumn(format="%.3g"),
            "Ratio": st.column_config.NumberColumn(format="%.2f×"),
            "Difference (sd)": st.column_config.NumberColumn(format="%+.2f")})
        cols = st.columns([2, 1, 1])
        name = cols[0].text_input("Segment name", key="map.segment_name",
                                  placeholder="e.g. Night-time bargain hunters")
        if cols[1].button("Save as segment", type="primary", key="map.save_segment",
                          **edit_lock()):
            size = save_segment(ws, name, [str(u) for u in selected])
            st.success(f"Saved segment '{inert(name)}' with {size:,} users.",
                       icon=":material/bookmark_added:")
        chosen = features.loc[features.index.intersection(selected)]
        download_button("Download CSV", key="map.download", version=frame_version(chosen),
                        build=lambda: safe_csv_bytes(chosen), container=cols[2],
                        file_name="selected_users.csv", mime="text/csv",
                        icon=":material/download:")

    segments = ws.segments
    if segments is not None and len(segments):
        st.subheader("Saved segments")
        sizes = segments.groupby("segment").size().rename("Users").reset_index()
        sizes["Share"] = sizes["Users"] / len(features)
        st.dataframe(sizes, hide_index=True, column_config={
            "Share": st.column_config.NumberColumn(format="percent")})
