"""Cached wrappers for the Export page: the model is built only when its inputs change."""

from __future__ import annotations

import streamlit as st

from core.model.sql import assignment_sql
from core.workspace.model import model_from_workspace
from core.workspace.store import Workspace

#: The parts of a workspace the model is made of.
MODEL_PARTS = ("features", "clusters", "personas")


def model_key(ws: Workspace) -> str:
    """Changes whenever the features, the clustering or the persona names change."""
    return ws.version(*MODEL_PARTS)


@st.cache_data(show_spinner=False, max_entries=4)
def workspace_model(key: str, _ws: Workspace, dialect: str = "duckdb") -> tuple[dict, str]:
    """The workspace's model (with persona names) and its assignment SQL in ``dialect``
    (one of ``core.model.sql.DIALECTS``)."""
    model = model_from_workspace(_ws)
    return model, assignment_sql(model, dialect=dialect)
