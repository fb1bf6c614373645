"""The per-user feature table, time windows and recent-behaviour signals."""

from core.features.pipeline import features_from_file
from core.features.signals import behavior_signals
from core.features.table import FeatureConfig, FeatureTable, user_features, user_table_features

__all__ = ["FeatureConfig", "FeatureTable", "behavior_signals", "features_from_file",
           "user_features", "user_table_features"]
