"""Cached wrappers and small helpers for the Experiments page."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.experiments import analysis as experiments
from core.experiments.inputs import read_experiment_bytes
from core.workspace.store import Workspace
from ui.cache import generated_sample
from ui.rules import CONTEXT_PARTS
from ui.state import DEFAULT_SAMPLE

NONE = "— none —"
PERSONA = "Persona (from clustering)"


def sample_parameters(ws: Workspace) -> dict[str, int]:
    """The workspace's sample size, days and seed when it holds the sample, else the
    app's default sample."""
    sample = ws.data.sample
    if sample:
        return {"n_users": int(sample["users"]), "days": int(sample["days"]),
                "seed": int(sample["seed"])}
    return dict(DEFAULT_SAMPLE)


def sample_experiment(n_users: int, days: int, seed: int) -> pd.DataFrame:
    """The sample shop's A/B test table (the same generated sample as the events)."""
    return generated_sample(n_users, days, seed).experiment.copy()


@st.cache_data(show_spinner=False, max_entries=2)
def read_upload(data: bytes, name: str) -> pd.DataFrame:
    """An uploaded experiment file read once per content."""
    return read_experiment_bytes(data, name)


@st.cache_data(show_spinner=False, max_entries=8)
def analysed(version: str, spec_json: str, _frame: pd.DataFrame):
    """The analysis of the stored experiment (cached per data version and settings)."""
    spec = experiments.ExperimentSpec.from_dict(json.loads(spec_json))
    return experiments.analyse_experiment(_frame, spec)


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison table with readable column names for the page."""
    names = {"metric": "Metric", "variant": "Variant", "control_value": "Control",
             "variant_value": "Variant value", "difference": "Difference",
             "difference_ci_low": "CI low", "difference_ci_high": "CI high",
             "relative_lift": "Lift", "relative_lift_ci_low": "Lift CI low",
             "relative_lift_ci_high": "Lift CI high", "statistic": "Statistic",
             "dof": "df", "p_value": "p", "p_adjusted": "Adjusted p",
             "significant": "Significant", "test": "Test", "interval": "Interval"}
    return table[list(names)].rename(columns=names)


def rules_version(ws) -> str:
    """A key that changes when the rules or anything they read change."""
    return ws.version(*CONTEXT_PARTS, "rules")


def analysis_version(ws) -> str:
    """A key of the analysis: the experiment table, and the persona labels and rule
    hold-out groups joined to it (they change with the clusters and the rules)."""
    return ws.version("experiment", *CONTEXT_PARTS, "rules")


def rule_tests(ws) -> dict:
    """Hold-out groups of the workspace's rules that have a hold-out (empty when none)."""
    if not ws.rules.rule_set.rules or ws.features is None:
        return {}
    return _rule_tests(rules_version(ws), ws)


@st.cache_data(show_spinner=False, max_entries=4)
def _rule_tests(version: str, _ws) -> dict:
    # Simulating every rule on every user is the slow part; the page reruns on each
    # widget change, so it runs once per version of the rules and the data.
    from core.experiments.inputs import rule_test_groups
    from core.rules import simulate, window_counts_needed
    from ui.rules import rule_context, stored_rules

    rule_set = stored_rules(_ws)
    tested = {r.id: (r.name, r.action.holdout_percent / 100, r.since) for r in rule_set.rules
              if r.enabled and r.action.holdout_percent > 0}
    if not tested:
        return {}
    sim = simulate(rule_set, rule_context(_ws, window_counts_needed(rule_set.rules)))
    return rule_test_groups(sim.matched, sim.held_out, tested)
