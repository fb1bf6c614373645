"""Segmenting users: preprocessing, clustering (one registry of algorithms), the fitted
clusters, maps (PCA, UMAP, t-SNE) and segments defined by rules on features."""

from core.segment.algorithms import REGISTRY, Algorithm
from core.segment.clustering import ClusterConfig, ClusterResult, fit_clusters, k_sweep, stability
from core.segment.fitted import FittedClusters
from core.segment.preprocess import PreprocessConfig, Preprocessor
from core.segment.projection import Projection, pca_projection, tsne_projection, umap_projection
from core.segment.rule_segments import SegmentRule, evaluate

__all__ = ["REGISTRY", "Algorithm", "ClusterConfig", "ClusterResult", "FittedClusters",
           "PreprocessConfig", "Preprocessor", "Projection", "SegmentRule", "evaluate",
           "fit_clusters", "k_sweep", "pca_projection", "stability", "tsne_projection",
           "umap_projection"]
