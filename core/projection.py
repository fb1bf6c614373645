"""Maps of users: 2-D or 3-D projections of the preprocessed matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from core.errors import ConfigError


@dataclass
class Projection:
    """Coordinates per user, and how much of the data each axis carries."""

    coords: pd.DataFrame
    explained: list[float]
    loadings: pd.DataFrame


def pca_projection(matrix: np.ndarray, index: pd.Index, feature_names: list[str],
                   dimensions: int = 2, random_state: int = 0) -> Projection:
    """Project users onto their first principal components.

    Parameters
    ----------
    matrix : ndarray
        Preprocessed (scaled) features, one row per user.
    index : Index
        User ids of the rows.
    feature_names : list of str
        Names of the matrix columns, for the loadings.
    dimensions : int
        2 or 3.

    Returns
    -------
    Projection
        ``coords`` has columns PC1, PC2 (, PC3); ``loadings`` has one row per feature.
    """
    if dimensions not in (2, 3):
        raise ConfigError("A map has 2 or 3 dimensions.")
    if matrix.shape[1] < dimensions:
        raise ConfigError(f"A {dimensions}-D PCA map needs at least {dimensions} features; "
                          f"{matrix.shape[1]} are chosen.")
    pca = PCA(n_components=dimensions, random_state=random_state).fit(matrix)
    names = [f"PC{i + 1}" for i in range(dimensions)]
    coords = pd.DataFrame(pca.transform(matrix), index=index, columns=names)
    loadings = pd.DataFrame(pca.components_.T, index=feature_names, columns=names)
    return Projection(coords, [float(v) for v in pca.explained_variance_ratio_], loadings)


def selection_profile(features: pd.DataFrame, selected: pd.Index) -> pd.DataFrame:
    """Mean of each feature for the selected users against everyone.

    Returns a table with the selected mean, everyone's mean, their ratio and the
    difference in standard deviations, most distinctive first.
    """
    numeric = features.select_dtypes("number")
    chosen = numeric.loc[numeric.index.intersection(selected)]
    everyone = numeric.mean()
    spread = numeric.std(ddof=0).replace(0, np.nan)
    table = pd.DataFrame({
        "Selected": chosen.mean(), "Everyone": everyone,
        "Ratio": chosen.mean() / everyone.replace(0, np.nan),
        "Difference (sd)": (chosen.mean() - everyone) / spread,
    })
    return table.reindex(table["Difference (sd)"].abs().sort_values(ascending=False).index)
