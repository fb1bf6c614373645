"""The workspace's fitted clustering: its matrix and its portable model.

The clustering is fitted once (:func:`core.workspace.actions.cluster_into` keeps the
fitted preprocessing and centres); everything that needs the preprocessed matrix or the
centres reads them here instead of refitting from the settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import ConfigError
from core.model.portable import model_json
from core.segment.fitted import FittedClusters
from core.workspace.store import Workspace


def fitted_clusters(ws: Workspace) -> FittedClusters:
    """The fitted preprocessing and cluster centres of the workspace's clustering.

    A clustering saved by workspace format 1 kept only its settings: its fit is rebuilt
    here once from them (the preprocessing is deterministic, the centres are the means of
    the members) and kept with the clustering.

    Raises
    ------
    ConfigError
        Before clustering.
    """
    section, clusters, features = ws.clustering, ws.clusters, ws.features
    if section is None or clusters is None or features is None:
        raise ConfigError("There are no clusters yet. Cluster the users on the Clustering "
                          "page first.")
    if section.fitted is None:
        section.fitted = FittedClusters.refit(features, section.preprocess, clusters["cluster"])
    return section.fitted


def clustered_matrix(ws: Workspace) -> tuple[np.ndarray, pd.Index, list[str]]:
    """The preprocessed matrix the clustering used, its users and its column names."""
    fitted = fitted_clusters(ws)
    users = ws.clusters.index
    return fitted.matrix(ws.features, users), users, fitted.preprocessor.output_names


def model_from_workspace(ws: Workspace) -> dict[str, Any]:
    """The portable model of the workspace's clustering, with its persona names.

    Raises
    ------
    ConfigError
        Before clustering.
    """
    fitted = fitted_clusters(ws)
    section, data, info = ws.clustering, ws.data, ws.feature_info
    # Scoring new users must not pseudonymise or sample them again.
    load = None if data.load_config is None else {
        **data.load_config.to_dict(), "pseudonymise": False, "user_sample_share": 1.0}
    users = len(ws.clusters)
    return model_json(fitted, section.config, users=users,
                      excluded_users=len(ws.features) - users, personas=ws.personas.names,
                      feature_kind=info.kind,
                      feature_config=None if info.config is None else info.config.to_dict(),
                      load_config=load)
