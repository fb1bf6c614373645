"""Cached wrappers for the Export page: the model is refitted only when its inputs change."""

from __future__ import annotations

import json

import streamlit as st

from core.model.scoring import assignment_sql, model_from_workspace
from core.workspace.store import Workspace
from ui.cache import features_version


def model_key(ws: Workspace) -> str:
    """Changes whenever the features, the clustering or the persona names change."""
    settings = json.dumps([ws.personas.get("names", {}), ws.preprocess_config,
                           ws.cluster_config], sort_keys=True, default=str)
    return f"{features_version(ws)}|{ws.steps.get('clusters', '')}|{settings}"


@st.cache_data(show_spinner=False, max_entries=4)
def workspace_model(key: str, _ws: Workspace) -> tuple[dict, str]:
    """The workspace's model (with persona names) and its assignment SQL."""
    model = model_from_workspace(_ws)
    return model, assignment_sql(model)
