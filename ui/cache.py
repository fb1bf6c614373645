"""Cached wrappers around slow core calls. Caching lives here, never in core."""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pandas as pd
import streamlit as st

from core.data import sample
from core.data.readers import RawTable, ReadOptions, read_bytes
from core.segment.preprocess import PreprocessConfig, Preprocessor
from core.segment.projection import Projection, pca_projection, tsne_projection, umap_projection


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
    return f"{ws.id}:{ws.steps.get('features', '')}:{sorted(ws.feature_config.items())}"


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
    """The preprocessed matrix, its users and column names (cached per table and settings).

    Pages that only look at the matrix (map, k-distance plot, dendrogram) rerun on every
    widget change; the matrix is made once.
    """
    pre = Preprocessor(PreprocessConfig.from_dict(config))
    matrix = pre.fit_transform(_features)
    return matrix, pre.index_, pre.output_names


@st.cache_data(show_spinner=False, max_entries=8)
def map_projection(version: str, config: dict, dimensions: int,
                   _features: pd.DataFrame) -> Projection:
    """PCA coordinates of the users (cached per table, settings and dimensions)."""
    matrix, index, names = preprocessed(version, config, _features)
    return pca_projection(matrix, index, names, dimensions=dimensions)


#: UMAP maps kept per server process (each is a few MB of coordinates).
UMAP_MAPS_KEPT = 6


@st.cache_resource(show_spinner=False)
def _umap_maps() -> OrderedDict:
    return OrderedDict()


def umap_map(version: str, config: dict, dimensions: int, params: dict,
             sample_size: int | None, features: pd.DataFrame, progress=None) -> Projection:
    """UMAP coordinates, kept per table, preprocessing, UMAP settings and sample.

    Not ``st.cache_data``: that would record the progress bar's updates made inside the
    call and fail to replay them on the next run, so the maps are kept in a small store.
    """
    key = _umap_key(version, config, dimensions, params, sample_size)
    maps = _umap_maps()
    if key not in maps:
        matrix, index, _ = preprocessed(version, config, features)
        maps[key] = umap_projection(matrix, index, dimensions=dimensions,
                                    sample_size=sample_size, progress=progress, **params)
        while len(maps) > UMAP_MAPS_KEPT:
            maps.popitem(last=False)
    maps.move_to_end(key)
    return maps[key]


def has_umap_map(version: str, config: dict, dimensions: int, params: dict,
                 sample_size: int | None) -> bool:
    """Whether this UMAP map is already computed."""
    return _umap_key(version, config, dimensions, params, sample_size) in _umap_maps()


def _umap_key(*settings) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


@st.cache_data(show_spinner=False, max_entries=4)
def segment_labels(version: str, rules: str, _ws) -> pd.Series:
    """Each user's rule segment, exclusive by priority (cached per table and rules: the
    Map page reruns on every selection, and windowed conditions query the event log)."""
    from core.workspace.actions import segment_memberships

    return segment_memberships(_ws, exclusive=True).exclusive


@st.cache_data(show_spinner=False, max_entries=6)
def tsne_map(version: str, config: dict, dimensions: int, perplexity: float,
             sample_size: int, _features: pd.DataFrame) -> Projection:
    """t-SNE coordinates of a sample (cached per table, preprocessing and settings)."""
    matrix, index, _ = preprocessed(version, config, _features)
    return tsne_projection(matrix, index, dimensions=dimensions, perplexity=perplexity,
                           sample_size=sample_size)
