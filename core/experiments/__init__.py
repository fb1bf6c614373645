"""A/B tests: reading the table, arms, frequentist and Bayesian tests, CUPED and
sequential tests, planning, per-segment breakdown and the words that report them."""

from core.experiments.analysis import ExperimentAnalysis, analyse_experiment
from core.experiments.inputs import ExperimentSpec, read_experiment_bytes, read_experiment_path
from core.experiments.planning import plan_means, plan_proportions

__all__ = ["ExperimentAnalysis", "ExperimentSpec", "analyse_experiment", "plan_means",
           "plan_proportions", "read_experiment_bytes", "read_experiment_path"]
