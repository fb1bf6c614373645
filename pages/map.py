"""Map page: users projected to 2-D, coloured by cluster or feature; select to profile."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.export import safe_csv_bytes
from core.preprocess import PreprocessConfig
from core.projection import selection_profile
from ui.cache import features_version, map_projection, preprocessed
from ui.errors import shows_errors
from ui.state import require_features, workspace

#: Points drawn on the map; more would make the browser slow (the rest are sampled out).
MAX_POINTS = 20_000

ws = workspace()
st.title("Map")
st.caption("Users placed by their behavior: nearby users behave alike. Drag a box or a "
           "lasso over a group to see how it differs from everyone and save it as a segment.")

features = require_features(ws)

if ws.preprocess_config:
    config = PreprocessConfig.from_dict(ws.preprocess_config)
    st.caption("Preprocessing as set on the Clustering page: "
               f"{len(config.features)} features, {config.scaling} scaling.")
else:
    config = PreprocessConfig(features=tuple(ws.selected_features))
    st.caption(f"The {len(config.features)} features selected on the Features page, "
               "standard scaling. Set other preprocessing on the Clustering page.")

with shows_errors():
    _, _, names = preprocessed(features_version(ws), config.to_dict(), features)
    cols = st.columns([2, 1, 3])
    dims = cols[1].radio("View", [2, 3], format_func=lambda d: f"{d}-D", horizontal=True,
                         key="map.dims", disabled=len(names) < 3)
    projection = map_projection(features_version(ws), config.to_dict(), dims, features)
    coords = projection.coords
    clusters = ws.clusters
    options = (["Cluster"] if clusters is not None else []) + list(config.features)
    colour = cols[0].selectbox("Colour by", options, key="map.colour")
    share = sum(projection.explained)
    cols[2].caption(f"PCA: the {dims} axes carry {share:.0%} of the variance ("
                    + ", ".join(f"PC{i + 1} {v:.0%}" for i, v in enumerate(projection.explained))
                    + ").")
    plot = coords.copy()
    if colour == "Cluster":
        plot["Cluster"] = clusters["cluster"].reindex(plot.index).fillna("Not clustered")
    else:
        plot[colour] = features.loc[plot.index, colour]
    if len(plot) > MAX_POINTS:
        plot = plot.sample(MAX_POINTS, random_state=0)
        st.caption(f"Showing a random {MAX_POINTS:,} of {len(coords):,} users.")
    plot["user_id"] = plot.index
    order = {"Cluster": sorted(plot["Cluster"].unique(), key=lambda n: (len(n), n))} \
        if colour == "Cluster" else None
    # A feature's colour scale spans its 1st-99th percentiles: a few bots with extreme
    # values would otherwise paint everyone else the same pale shade.
    shading = {} if colour == "Cluster" else {
        "color_continuous_scale": "Viridis",
        "range_color": tuple(plot[colour].quantile([0.01, 0.99]).astype(float))}
    hover = {"user_id": True, **({} if colour == "Cluster" else {colour: ":.3g"}),
             "PC1": ":.2f", "PC2": ":.2f"}
    if dims == 3:
        fig = px.scatter_3d(plot, x="PC1", y="PC2", z="PC3", color=colour,
                            hover_data={**hover, "PC3": ":.2f"}, opacity=0.7, height=620,
                            category_orders=order, **shading)
        fig.update_traces(marker_size=3)
        fig.update_layout(template="plotly_white", margin={"l": 0, "r": 0, "t": 30, "b": 0})
        st.plotly_chart(fig, key="map.chart3d")
        st.caption("Selection works on the 2-D view; switch back to select users.")
        selection = {}
    else:
        fig = px.scatter(plot, x="PC1", y="PC2", color=colour, custom_data=["user_id"],
                         hover_data=hover, opacity=0.7, height=560,
                         category_orders=order, **shading)
        fig.update_traces(marker_size=5)
        # Without select as the drag mode, a drag zooms and no selection reaches the app.
        fig.update_layout(dragmode="select", template="plotly_white",
                          margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend_title=colour)
        selection = st.plotly_chart(fig, key="map.chart", on_select="rerun",
                                    selection_mode=("box", "lasso")).selection
    selected = pd.Index([p["customdata"][0] for p in selection.get("points", [])
                         if p.get("customdata")]).unique()

    with st.expander("Loadings (how each feature drives the axes)"):
        st.dataframe(projection.loadings.round(3), width="stretch")

    st.subheader("Selection")
    if selected.empty:
        st.info("Drag a box or a lasso over some points to select users.",
                icon=":material/select:")
    else:
        st.markdown(f"**{len(selected):,} users selected** "
                    f"({len(selected) / len(coords):.1%} of those on the map).")
        profile = selection_profile(features, selected)
        st.dataframe(profile.head(12), width="stretch", column_config={
            "Selected": st.column_config.NumberColumn(format="%.3g"),
            "Everyone": st.column_config.NumberColumn(format="%.3g"),
            "Ratio": st.column_config.NumberColumn(format="%.2f×"),
            "Difference (sd)": st.column_config.NumberColumn(format="%+.2f")})
        cols = st.columns([2, 1, 1])
        name = cols[0].text_input("Segment name", key="map.segment_name",
                                  placeholder="e.g. Night-time bargain hunters")
        if cols[1].button("Save as segment", type="primary", key="map.save_segment"):
            size = ws.save_segment(name, [str(u) for u in selected])
            st.success(f"Saved segment '{name.strip()}' with {size:,} users.",
                       icon=":material/bookmark_added:")
        chosen = features.loc[features.index.intersection(selected)]
        cols[2].download_button("Download CSV", data=lambda: safe_csv_bytes(chosen),
                                file_name="selected_users.csv", mime="text/csv",
                                key="map.download", on_click="ignore",
                                icon=":material/download:")

    segments = ws.segments
    if segments is not None and len(segments):
        st.subheader("Saved segments")
        sizes = segments.groupby("segment").size().rename("Users").reset_index()
        sizes["Share"] = sizes["Users"] / len(features)
        st.dataframe(sizes, hide_index=True, column_config={
            "Share": st.column_config.NumberColumn(format="percent")})
