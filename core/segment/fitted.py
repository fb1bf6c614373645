"""What a clustering fit keeps: the fitted preprocessing and the cluster centres.

The clustering is fitted once; the map, the personas' period comparison, the report's
quality metrics, scoring and the model export reuse this object instead of refitting
the preprocessing from its settings. It serialises to JSON (no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.common.errors import DataError
from core.segment.algorithms import centroids_of, nearest
from core.segment.labels import NOISE, NOISE_LABEL, cluster_label, label_order
from core.segment.preprocess import PreprocessConfig, Preprocessor


@dataclass
class FittedClusters:
    """A fitted :class:`~core.segment.preprocess.Preprocessor` and the cluster centres in
    its space, each with its label ("Cluster 1", ...; noise has no centre)."""

    preprocessor: Preprocessor
    centroids: np.ndarray
    labels: list[str]

    @classmethod
    def from_fit(cls, preprocessor: Preprocessor, centroids: np.ndarray) -> FittedClusters:
        """From a fit whose centres are in code order (code 0 is "Cluster 1", ...)."""
        return cls(preprocessor, np.asarray(centroids, dtype=float),
                   [cluster_label(i) for i in range(len(centroids))])

    @classmethod
    def refit(cls, features: pd.DataFrame, config: PreprocessConfig,
              labels: pd.Series) -> FittedClusters:
        """Fit the preprocessing from its settings again (it is deterministic) and take
        each cluster's centre as the mean of its members.

        For clusterings saved before fits were kept (workspace format 1).
        """
        pre = Preprocessor(config)
        matrix = pre.fit_transform(features)
        named = labels.astype(str).reindex(pre.index_)
        order = sorted((v for v in named.dropna().unique() if v != NOISE_LABEL),
                       key=label_order)
        codes = named.map({v: i for i, v in enumerate(order)}).fillna(NOISE).to_numpy(int)
        return cls(pre, centroids_of(matrix, codes), order)

    def matrix(self, features: pd.DataFrame, users: pd.Index) -> np.ndarray:
        """The preprocessed matrix of ``users`` (the clustered ones), in their order.

        Applying the fitted transformation to the users it was fitted on gives exactly
        the matrix the clustering used.

        Raises
        ------
        DataError
            When some of the users are not in the feature table.
        """
        missing = users.difference(features.index)
        if len(missing):
            raise DataError(f"{len(missing):,} clustered user(s) are not in the feature "
                            "table; cluster again on the Clustering page.")
        matrix, _ = self.preprocessor.transform(features.loc[users])
        return matrix

    def assign(self, features: pd.DataFrame) -> pd.Series:
        """The label of the nearest centre of each user of ``features``."""
        matrix, index = self.preprocessor.transform(features)
        return pd.Series(np.asarray(self.labels, dtype=object)[nearest(matrix, self.centroids)],
                         index=index)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: the preprocessing parameters and the labelled centres."""
        return {"preprocessor": self.preprocessor.to_dict(),
                "centroids": self.centroids.tolist(), "labels": list(self.labels)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FittedClusters:
        """Rebuild from :meth:`to_json` output.

        Raises
        ------
        DataError
            When the parameters are incomplete or do not fit together.
        """
        try:
            pre = Preprocessor.from_dict(data["preprocessor"])
            centroids = np.asarray(data["centroids"], dtype=float)
            labels = [str(v) for v in data["labels"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"The saved clustering model is incomplete ({exc}); cluster "
                            "again.") from exc
        width = len(pre.output_names)
        if centroids.ndim != 2 or centroids.shape != (len(labels), width):
            raise DataError("The saved cluster centres do not match their labels or the "
                            "preprocessing; cluster again.")
        return cls(pre, centroids, labels)
