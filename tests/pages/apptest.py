"""What every page test shares: the app's path, the run timeout and the no-error check."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

#: Seconds one AppTest run may take (a cold start computes the sample's features).
TIMEOUT = 120
APP = str(Path(__file__).resolve().parents[2] / "app.py")


def no_errors(at: AppTest) -> None:
    """The run raised nothing and showed no error message."""
    assert [e.value for e in at.exception] == []
    assert [e.value for e in at.error] == []


def plotly_array(value) -> np.ndarray:
    """An array of a chart's JSON: plotly writes numeric arrays as typed base64 blocks."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = tuple(int(n) for n in str(value.get("shape", len(flat))).split(","))
        return flat.reshape(shape)
    return np.asarray(value)


def plotly_figures(at: AppTest) -> list[dict]:
    """The JSON of every plotly chart the last run drew."""
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def shown(markdown: str) -> str:
    """The text a reader sees of Markdown made inert by ``ui.text.inert``: escapes,
    entities and invisible joiners removed (for comparing with core's plain messages)."""
    import html
    import re

    from ui.text import JOINER, MARKDOWN_ACTIVE

    unescaped = re.sub(r"\\([" + re.escape(MARKDOWN_ACTIVE) + "])", r"\1", markdown)
    return html.unescape(unescaped.replace(JOINER, ""))


def cluster_sample(at: AppTest, k: int = 4):
    """Cluster the app's workspace (the autoloaded sample) on its selected features with a
    fixed seed and save it, as the Clustering page's Cluster button would; the workspace."""
    from core.segment.clustering import ClusterConfig
    from core.segment.preprocess import PreprocessConfig
    from core.workspace.actions import cluster_into

    ws = at.session_state["workspace"]
    cluster_into(ws, PreprocessConfig(features=tuple(ws.feature_info.selected)),
                 ClusterConfig(k=k, random_state=0))
    ws.save()
    return ws
