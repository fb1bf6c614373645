"""What the Recommendations page caches: the interactions, the recommendations of every
user and the offline evaluation.

Each is kept per workspace version of the parts it reads (data, clusters, personas) and
per the settings it reads, and no others: picking a user or a persona redraws without
recomputing, and choosing another method or list length leaves the evaluation (which
runs every method) as it is. The workspace's ``recommend`` revision is not part of the
keys: it changes with every setting, and the settings are in the keys themselves. The
evaluation shows a progress bar while it runs; ``st.cache_data`` would record the bar's
updates and fail to replay them, so evaluations are kept in a small store instead (as
the UMAP maps are).
"""

from __future__ import annotations

import json

import streamlit as st

from core.recommend import Evaluation, Interactions, Recommendations
from core.workspace.recommend import (
    RecommendSettings,
    build_recommendations,
    evaluate_workspace,
    persona_item_tables,
    recommend_events,
    workspace_interactions,
)
from ui.errors import shows_errors
from ui.kept import kept

#: The parts of a workspace the recommendations read.
PARTS = ("data", "clusters", "personas")
#: The settings each cached result reads.
READS = {
    "interactions": ("weights", "item_column"),
    "evaluation": ("weights", "item_column", "k", "cutoff", "config"),
    "recommendations": ("weights", "item_column", "method", "n", "config"),
    "persona_items": ("weights", "item_column", "min_support"),
}
#: Evaluations kept per server process (a few tables each).
EVALUATIONS_KEPT = 8


def version(ws) -> str:
    """A key that changes when the events or the personas change."""
    return ws.version(*PARTS)


def settings_key(settings: RecommendSettings, result: str | None = None) -> str:
    """The settings as a key: all of them, or those ``result`` reads (:data:`READS`)."""
    data = settings.to_dict()
    chosen = data if result is None else {k: data[k] for k in READS[result]}
    return json.dumps(chosen, sort_keys=True)


def events_or_stop(ws):
    """The workspace's events, or a message saying what to load and a stop."""
    with shows_errors():
        return recommend_events(ws)
    st.page_link("pages/data.py", label="Go to Data", icon=":material/arrow_forward:")
    st.stop()


@st.cache_resource(show_spinner="Collecting the interactions...", max_entries=4)
def _interactions(key: str, settings_json: str, _ws, _settings) -> Interactions:
    return workspace_interactions(_ws, _settings)


def interactions(ws, settings: RecommendSettings) -> Interactions:
    """The user × item matrix (shared, not copied: callers must not modify it)."""
    return _interactions(version(ws), settings_key(settings, "interactions"), ws, settings)


@st.cache_resource(show_spinner="Recommending for every user...", max_entries=4)
def _recommendations(key: str, settings_json: str, _ws, _settings,
                     _interactions) -> Recommendations:
    return build_recommendations(_ws, _settings, _interactions)


def recommendations(ws, settings: RecommendSettings) -> Recommendations:
    """Top-N with reasons for every user (shared, not copied)."""
    return _recommendations(version(ws), settings_key(settings, "recommendations"), ws,
                            settings, interactions(ws, settings))


@st.cache_resource(show_spinner=False, max_entries=4)
def _persona_tables(key: str, settings_json: str, _ws, _settings, _interactions):
    return persona_item_tables(_ws, _settings, _interactions)


def persona_tables(ws, settings: RecommendSettings):
    """Each persona's popular and distinctive items (distinctive: None before
    clustering)."""
    return _persona_tables(version(ws), settings_key(settings, "persona_items"), ws,
                           settings, interactions(ws, settings))


def evaluation(ws, settings: RecommendSettings) -> Evaluation:
    """The offline evaluation of every method, with a progress bar while it runs."""
    return kept("recommend", (version(ws), settings_key(settings, "evaluation")),
                lambda progress: evaluate_workspace(ws, settings, progress),
                "Evaluating every method on a time split", EVALUATIONS_KEPT)
