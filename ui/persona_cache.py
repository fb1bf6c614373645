"""Cached persona profiles and results for the Personas page (caching lives in ui/, never
in core)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.personas.profiles import ClusterProfiles, profile_clusters

#: The parts the persona cards are drawn from: the features, the clusters and the
#: personas' names and texts.
PERSONA_PARTS = ("features", "clusters", "personas")


def personas_version(ws) -> str:
    """A key that changes whenever the persona cards may change."""
    return ws.version(*PERSONA_PARTS)


@st.cache_data(show_spinner=False, max_entries=4)
def cluster_profiles(version: str, _features: pd.DataFrame, _labels: pd.Series,
                     clustered_on: tuple[str, ...]) -> ClusterProfiles:
    """Profiles of the clusters, made once per feature table and clustering (``version``)."""
    return profile_clusters(_features, _labels, clustered_on)


@st.cache_data(show_spinner=False, max_entries=8)
def personas_fresh(version: str, _ws) -> bool:
    """Whether the persona state was built for the current clusters (it hashes every
    user's label: 40 ms on 100 k users), cached per clustering and persona state."""
    from core.workspace import personas

    return personas.personas_fresh(_ws)


@st.cache_data(show_spinner=False, max_entries=4)
def persona_risk(version: str, _ws) -> pd.DataFrame | None:
    """Each persona's share in the saved propensity models' bands (70 ms on 100 k users:
    every user's persona name is looked up), cached per features, clusters, personas and
    saved models."""
    from core.workspace.predict import persona_risk as risk

    return risk(_ws)


@st.cache_data(show_spinner=False, max_entries=4)
def rerun_migration(version: str, _ws):
    """Personas before and after the last re-clustering (or None), cached per clustering
    and persona state: 0.2 s on 100 k users."""
    from core.workspace import personas

    return personas.rerun_migration(_ws)
