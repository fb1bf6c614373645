"""What the Propensity page caches: the evaluation of the models (seconds of work) per
data version and settings, so that moving the threshold or picking a user redraws
without fitting again."""

from __future__ import annotations

import json

import streamlit as st

from core.predict import PropensityConfig, PropensityResult, label_users
from core.workspace.predict import run_propensity
from ui.kept import is_kept, kept


def version(ws) -> str:
    """A key that changes when the events or the feature settings change (not when
    saved scores are added to the feature table: the models never read those)."""
    config = ws.feature_info.config
    settings = json.dumps(config.to_dict() if config else None, sort_keys=True, default=str)
    return f"{ws.version('data')}:{settings}"


#: Evaluations kept per server process.
EVALUATIONS_KEPT = 6


def _key(ws, config: PropensityConfig) -> tuple[str, str]:
    return version(ws), json.dumps(config.to_dict(), sort_keys=True)


def cached_evaluation(ws, config: PropensityConfig) -> PropensityResult:
    """The evaluation of ``config``, fitted once per data version and settings, with a
    progress bar while it is fitted."""
    return kept("propensity", _key(ws, config),
                lambda progress: run_propensity(ws, config, progress),
                "Fitting and testing the models", EVALUATIONS_KEPT)


def has_evaluation(ws, config: PropensityConfig) -> bool:
    """Whether ``config`` was already evaluated on this data (so the page shows it
    without a click)."""
    return is_kept("propensity", _key(ws, config))


@st.cache_data(show_spinner=False, max_entries=16)
def label_balance(key: str, spec_json: str, which: str, _events) -> tuple[int, float]:
    """Users labelled and the positive share at the training or test cutoff."""
    from core.predict import LabelSpec

    spec = LabelSpec.from_dict(json.loads(spec_json))
    cutoff = spec.cutoff_ts if which == "test" else spec.train_cutoff_ts
    labels = label_users(_events, spec, cutoff)
    return len(labels), float(labels.mean()) if len(labels) else float("nan")
