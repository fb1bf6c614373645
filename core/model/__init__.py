"""The portable model: fitting it from a file, its JSON, scoring new users, and SQL."""

from core.model.fitting import cluster_table, load_feature_table
from core.model.portable import ScoringModel, model_json, read_model, write_model
from core.model.scoring import ScoreResult, score_features, score_file
from core.model.sql import assignment_sql

__all__ = ["ScoreResult", "ScoringModel", "assignment_sql", "cluster_table",
           "load_feature_table", "model_json", "read_model", "score_features", "score_file",
           "write_model"]
