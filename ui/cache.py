"""Cached wrappers around slow core calls. Caching lives here, never in core."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pandas as pd
import streamlit as st

from core.data import sample
from core.data.readers import RawTable, ReadOptions, read_bytes
from core.segment.preprocess import PreprocessConfig, Preprocessor
from core.segment.projection import Projection, pca_projection, tsne_projection, umap_projection
from core.workspace.model import clustered_matrix


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
        maps[key] = umap_projection(matrix, index, dimensions=dimensions,
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
