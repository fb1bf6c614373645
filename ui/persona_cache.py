"""Cached persona profiles for the Personas page (caching lives in ui/, never in core)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.personas.profiles import ClusterProfiles, profile_clusters


@st.cache_data(show_spinner=False, max_entries=4)
def cluster_profiles(version: str, _features: pd.DataFrame, _labels: pd.Series,
                     clustered_on: tuple[str, ...]) -> ClusterProfiles:
    """Profiles of the clusters, made once per feature table and clustering (``version``)."""
    return profile_clusters(_features, _labels, clustered_on)
