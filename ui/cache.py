"""Cached wrappers around slow core calls. Caching lives here, never in core."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.data import sample
from core.data.readers import RawTable, ReadOptions, read_bytes
from core.segment.preprocess import PreprocessConfig, Preprocessor
from core.segment.projection import Projection, pca_projection, tsne_projection, umap_projection
from core.workspace.model import clustered_matrix
from ui.warmup import map_worker


@st.cache_resource(show_spinner=False, max_entries=4)
def generated_sample(n_users: int, days: int, seed: int) -> sample.SampleData:
    """The generated sample (events, planted personas, experiment) per size and seed.

    Shared, not copied: callers must not modify it.
    """
    return sample.generate_sample(n_users=n_users, days=days, seed=seed)


def sample_events(n_users: int, days: int, seed: int) -> pd.DataFrame:
    """Generated sample events (a copy: the cached sample stays as generated)."""
    return generated_sample(n_users, days, seed).events.copy()


@st.cache_data(show_spinner=False, max_entries=2)
def read_upload(data: bytes, name: str, delimiter: str, encoding: str,
                sheet: str | None) -> RawTable:
    """Read an uploaded file once per content and read options."""
    return read_bytes(data, name, ReadOptions(delimiter=delimiter, encoding=encoding,
                                              sheet=sheet))


def features_version(ws) -> str:
    """A key that changes whenever the workspace's feature table is recomputed."""
    return ws.version("features")


@st.cache_data(show_spinner=False, max_entries=8)
def feature_summary(version: str, _features: pd.DataFrame) -> pd.DataFrame:
    """Mean, median and missing count per numeric feature (cached per table version)."""
    numeric = _features.select_dtypes("number")
    return pd.DataFrame({"Mean": numeric.mean(), "Median": numeric.median(),
                         "Missing": numeric.isna().sum()})


@st.cache_data(show_spinner=False, max_entries=16)
def correlation_figure(version: str, _features: pd.DataFrame, columns: tuple[str, ...],
                       method: str):
    """The correlation heatmap of ``columns`` (cached per table version and choice)."""
    from core.features import charts

    return charts.correlation_heatmap(_features[list(columns)], method)


@st.cache_data(show_spinner=False, max_entries=4)
def preprocessed(version: str, config: dict, _features: pd.DataFrame
                 ) -> tuple[np.ndarray, pd.Index, list[str]]:
    """The matrix of preprocessing settings not yet used for a clustering (the Clustering
    page's k-distance plot and dendrogram, the map before clustering), its users and
    column names, cached per table and settings: those pages rerun on every widget change.
    """
    pre = Preprocessor(PreprocessConfig.from_dict(config))
    matrix = pre.fit_transform(_features)
    return matrix, pre.index_, pre.output_names


@st.cache_data(show_spinner=False, max_entries=4)
def clustered(version: str, _ws) -> tuple[np.ndarray, pd.Index, list[str]]:
    """The matrix the clustering used (from its kept fit), its users and column names,
    cached per clustering."""
    return clustered_matrix(_ws)


def map_matrix(ws, config: dict) -> tuple[str, np.ndarray, pd.Index, list[str]]:
    """The matrix the Map page places: the clustering's own when there is one, else the
    selected features preprocessed with ``config``; with a key for the maps cached on it."""
    if ws.clustering is not None and ws.clusters is not None:
        version = ws.version("features", "clusters")
        return (version, *clustered(version, ws))
    # Before clustering the map uses the default preprocessing of the selected features,
    # so the selection is the rest of the key.
    version = f"{features_version(ws)}:{','.join(config['features'])}"
    return (version, *preprocessed(features_version(ws), config, ws.features))


@st.cache_data(show_spinner=False, max_entries=8)
def map_projection(version: str, dimensions: int, _matrix: np.ndarray, _index: pd.Index,
                   _names: list[str]) -> Projection:
    """PCA coordinates of the users (cached per matrix version and dimensions)."""
    return pca_projection(_matrix, _index, _names, dimensions=dimensions)


#: UMAP maps kept per server process (each is a few MB of coordinates).
UMAP_MAPS_KEPT = 6


@st.cache_resource(show_spinner=False)
def _umap_maps() -> OrderedDict:
    return OrderedDict()


def umap_map(version: str, dimensions: int, params: dict, sample_size: int | None,
             matrix: np.ndarray, index: pd.Index, progress=None) -> Projection:
    """UMAP coordinates, kept per matrix version, UMAP settings and sample.

    Not ``st.cache_data``: that would record the progress bar's updates made inside the
    call and fail to replay them on the next run, so the maps are kept in a small store.
    """
    key = _umap_key(version, dimensions, params, sample_size)
    maps = _umap_maps()
    if key not in maps:
        # In the map worker: the layout's numba code never holds this server's interpreter.
        maps[key] = map_worker().call(umap_projection, matrix, index, dimensions=dimensions,
                                      sample_size=sample_size, progress=progress, **params)
        while len(maps) > UMAP_MAPS_KEPT:
            maps.popitem(last=False)
    maps.move_to_end(key)
    return maps[key]


def has_umap_map(version: str, dimensions: int, params: dict,
                 sample_size: int | None) -> bool:
    """Whether this UMAP map is already computed."""
    return _umap_key(version, dimensions, params, sample_size) in _umap_maps()


def _umap_key(version: str, dimensions: int, params: dict, sample_size: int | None) -> tuple:
    return version, dimensions, tuple(sorted(params.items())), sample_size


@st.cache_data(show_spinner=False, max_entries=4)
def segment_labels(version: str, _ws) -> pd.Series:
    """Each user's rule segment, exclusive by priority (cached per table and segments: the
    Map page reruns on every selection, and windowed conditions query the event log)."""
    from core.workspace.segments import segment_memberships

    return segment_memberships(_ws, exclusive=True).exclusive


@st.cache_data(show_spinner=False, max_entries=6)
def tsne_map(version: str, dimensions: int, perplexity: float, sample_size: int,
             _matrix: np.ndarray, _index: pd.Index) -> Projection:
    """t-SNE coordinates of a sample (cached per matrix version and settings)."""
    return tsne_projection(_matrix, _index, dimensions=dimensions, perplexity=perplexity,
                           sample_size=sample_size)


@st.cache_data(show_spinner=False, max_entries=4)
def run_comparison(key: str, _runs: list, _users: pd.Index, current: int | None):
    """The workspace's runs side by side and the agreement between every two (adjusted
    Rand index), cached per set of runs (``key``: the workspace, its feature table and
    each run's number and stability) and the run shown: pairwise agreement on 100 k
    users costs about a second for twenty runs."""
    from core.segment.runs import compare_runs

    return compare_runs(_runs, _users, current)


# figures and page results of the Clustering and Segments pages ------------------------------
#: Figures kept per server process (a few tens of kB each): every chart of the Clustering,
#: Segments and Personas pages of a few workspaces.
FIGURES_KEPT = 96


@st.cache_resource(show_spinner=False)
def _figures() -> tuple[threading.Lock, OrderedDict]:
    return threading.Lock(), OrderedDict()


def kept_figure(key: Hashable, build: Callable[[], go.Figure]) -> go.Figure:
    """The figure ``build()`` makes, built once per ``key`` and kept among the
    :data:`FIGURES_KEPT` latest.

    Building a small plotly figure costs 20-60 ms (its template is copied and every
    property validated), a page of ten charts half a second on every rerun, and
    ``st.cache_data`` would rebuild it while unpickling. So the figure is kept as it is
    and shared: pass it to ``st.plotly_chart`` (which copies it) and never change it; a
    changed version (faded, say) is another key. ``key`` must hold the version of every
    workspace part the figure is drawn from (:meth:`Workspace.version`) and every setting
    it depends on.
    """
    lock, figures = _figures()
    with lock:
        if key in figures:
            figures.move_to_end(key)
            return figures[key]
    figure = build()
    with lock:
        figures[key] = figure
        while len(figures) > FIGURES_KEPT:
            figures.popitem(last=False)
    return figure


@st.cache_data(show_spinner=False, max_entries=16)
def log_suggestion(version: str, _features: pd.DataFrame, chosen: tuple[str, ...]
                   ) -> tuple[dict[str, float], list[str]]:
    """Skew of the chosen features and those worth a log transform (the Clustering page's
    help text and defaults), cached per feature table and choice."""
    from core.segment.preprocess import suggest_log

    return suggest_log(_features, chosen)


@st.cache_data(show_spinner=False, max_entries=4)
def cluster_profile(version: str, _features: pd.DataFrame, _clusters: pd.DataFrame,
                    chosen: tuple[str, ...]) -> pd.DataFrame:
    """Standardised difference of each cluster from everyone per chosen feature (the
    Clustering page's heatmap, the same measure as the persona cards), cached per
    feature table and clustering (``version``)."""
    from core.personas.profiles import standardised_difference

    return standardised_difference(_features.loc[_clusters.index, list(chosen)].astype(float),
                                   _clusters["cluster"])


@st.cache_data(show_spinner=False, max_entries=4)
def clusters_by_segment(version: str, _ws) -> pd.DataFrame:
    """Users of each cluster (rows, with their count first) in each rule segment, cached
    per feature table, clustering and segments (``version``)."""
    from core.workspace.segments import segment_memberships

    clusters = _ws.clusters
    membership = segment_memberships(_ws, users=clusters.index).matrix
    table = membership.groupby(clusters["cluster"]).sum()
    table.insert(0, "Users", clusters["cluster"].value_counts())
    return table


#: The parts a segment's members are computed from (windowed conditions read the events).
SEGMENT_PARTS = ("data", "features", "segments")


def segments_version(ws) -> str:
    """A key that changes whenever segment memberships may change."""
    return ws.version(*SEGMENT_PARTS)


@st.cache_data(show_spinner=False, max_entries=2)
def preset_checks(version: str, _ws) -> list:
    """Every preset checked on the workspace's users (windowed counts from its events:
    about a second on 100 k users), cached per data and feature table."""
    from core.workspace.segments import workspace_preset_checks

    return workspace_preset_checks(_ws)


@st.cache_data(show_spinner=False, max_entries=8)
def segment_overview(version: str, _ws, exclusive: bool, small_share: float
                     ) -> tuple[pd.Series, list[str], pd.DataFrame]:
    """The Segments page's summary of the saved segments (rule segments, exclusive by
    priority or not, and the selections saved on the Map): users per segment, the
    warnings about small segments and the users in both of every two segments."""
    from core.workspace.segments import saved_selections, segment_memberships

    result = segment_memberships(_ws, list(_ws.segment_rules.rules), exclusive=exclusive,
                                 small_share=small_share)
    matrix = result.matrix
    users = _ws.features.index
    for segment, members in saved_selections(_ws).items():
        matrix[segment] = _members(users, members)
    sizes = result.sizes() if exclusive else matrix.sum()
    counts = matrix.astype(int)
    return sizes, list(result.warnings), counts.T @ counts


def _members(users: pd.Index, members: pd.Index) -> np.ndarray:
    """``users.isin(members)``; by the users' hash table when they are unique (built once
    per table: 5 ms instead of 80 ms for 15,000 of 100,000 users)."""
    if not users.is_unique:
        return users.isin(members)
    where = users.get_indexer(members)
    found = np.zeros(len(users), dtype=bool)
    found[where[where >= 0]] = True
    return found


@st.cache_data(show_spinner=False, max_entries=16)
def draft_memberships(version: str, rules_key: str, _ws, _rules: list) -> pd.Series:
    """Users matched by the rules being typed in the Segments page's editor (share per
    rule), cached per workspace and rules (``rules_key``: their ``repr``), so widgets
    changed elsewhere on the page do not count them again."""
    from core.workspace.segments import segment_memberships

    matrix = segment_memberships(_ws, _rules, small_share=0).matrix
    return matrix.sum().astype(int)
