"""Personas: cluster profiles, suggested names, matching across runs, persona state,
migration between personas over time, and persona charts."""

from core.personas.matching import match
from core.personas.migration import Migration, period_migration, rerun_migration
from core.personas.naming import suggest_names
from core.personas.profiles import ClusterProfiles, profile_clusters
from core.personas.state import PersonaState, build_state, edit_persona

__all__ = ["ClusterProfiles", "Migration", "PersonaState", "build_state", "edit_persona",
           "match", "period_migration", "profile_clusters", "rerun_migration",
           "suggest_names"]
