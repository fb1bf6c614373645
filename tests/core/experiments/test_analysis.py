"""The whole analysis of an experiment table: layouts, guard rails, breakdowns, the
summary for the report and the ``abtest`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError, DataError
from core.experiments.analysis import (
    ExperimentSpec,
    analyse_experiment,
    join_labels,
    means_test,
    proportions_test,
    sample_experiment,
)
from core.experiments.inputs import guess_columns, infer_types
from tests.cli_run import run_cli

ROOT = Path(__file__).resolve().parents[3]


def _users(n_c, x_c, n_t, x_t, **extra) -> pd.DataFrame:
    """Per-user rows with exactly x converted users among n per variant."""
    variant = ["control"] * n_c + ["treatment"] * n_t
    converted = [1] * x_c + [0] * (n_c - x_c) + [1] * x_t + [0] * (n_t - x_t)
    return pd.DataFrame({"user_id": [f"u{i}" for i in range(n_c + n_t)],
                         "variant": variant, "converted": converted, **extra})


@pytest.fixture(scope="module")
def sample():
    return sample_experiment(2000, 90, 42)


def test_sample_analysis_numbers_equal_the_public_tests(sample):
    spec = ExperimentSpec(metrics=("converted", "revenue"))
    result = analyse_experiment(sample, spec)
    conv = next(r for r in result.comparisons if r.metric == "converted")
    c, t = sample[sample.variant == "control"], sample[sample.variant == "treatment"]
    direct = proportions_test([c.converted.sum(), t.converted.sum()], [len(c), len(t)])
    assert conv.p_value == pytest.approx(direct.p_value)
    assert conv.relative_lift_ci == pytest.approx(direct.relative_lift_ci)
    rev = next(r for r in result.comparisons if r.metric == "revenue")
    assert rev.p_value == pytest.approx(means_test(c.revenue, t.revenue).p_value)
    assert result.variants == ["control", "treatment"]
    assert result.users == [len(c), len(t)]
    # Holm over both metrics: the smaller p doubled, the larger kept (or the max).
    ps = sorted([conv.p_value, rev.p_value])
    assert min(conv.p_adjusted, rev.p_adjusted) == pytest.approx(min(1, 2 * ps[0]))
    assert len(result.sentences) == 2
    assert result.sentences[0].startswith("treatment ")
    assert "after Holm correction" in result.sentences[0]
    assert any("pooled standard error under H0" in c for c in result.conventions)


def test_sentence_reads_like_the_issue():
    frame = _users(5000, 600, 5000, 670)
    result = analyse_experiment(frame, ExperimentSpec(metrics=("converted",)))
    text = result.sentences[0]
    assert text.startswith("treatment raises conversion from 12.0 % to 13.4 %, +11.7 % "
                           "relative (95 % CI +")
    assert ", p = 0.0" in text and "significant at α = 0.05" in text


def test_summary_is_json_ready(sample):
    result = analyse_experiment(sample, ExperimentSpec(metrics=("converted", "revenue"),
                                                       pre_col="pre_period_revenue",
                                                       sequential=True))
    summary = result.summary()
    text = json.dumps(summary, allow_nan=False)
    assert set(summary) >= {"sentences", "table", "conventions"}
    assert json.loads(text)["table"][1]["cuped_theta"] is not None


def test_aggregated_rows_give_the_same_result_as_per_user_rows():
    rng = np.random.default_rng(5)
    revenue = rng.lognormal(2, 1, 3000)
    frame = _users(1500, 180, 1500, 210, revenue=revenue)
    per_user = analyse_experiment(frame, ExperimentSpec(metrics=("converted", "revenue"),
                                                        rank_test=False))
    agg = frame.assign(revenue_sq=frame.revenue ** 2).groupby("variant").agg(
        users=("user_id", "size"), conversions=("converted", "sum"),
        revenue_sum=("revenue", "sum"), revenue_sum_sq=("revenue_sq", "sum")).reset_index()
    guess = guess_columns(agg)
    assert guess.layout == "aggregated" and guess.users == "users"
    assert guess.mean_cols == [("revenue", "revenue_sum", "revenue_sum_sq")]
    spec = ExperimentSpec(layout="aggregated", users_col="users",
                          conversion_cols=("conversions",), mean_cols=tuple(guess.mean_cols))
    summed = analyse_experiment(agg, spec)
    for a, b in zip(per_user.comparisons, summed.comparisons, strict=True):
        assert a.p_value == pytest.approx(b.p_value, rel=1e-9)
        assert a.difference_ci == pytest.approx(b.difference_ci, rel=1e-9)


@pytest.mark.parametrize(("frame", "spec", "error", "message"), [
    (pd.DataFrame({"variant": ["a"] * 5, "converted": [0, 1, 0, 1, 0]}),
     ExperimentSpec(metrics=("converted",)), DataError, "only 'a'"),
    (_users(10, 2, 10, 3), ExperimentSpec(metrics=("converted",), control="B"),
     ConfigError, "not a value of 'variant'"),
    (_users(10, 2, 10, 3), ExperimentSpec(metrics=("nope",)), ConfigError, "not in the data"),
    (_users(10, 0, 10, 0), ExperimentSpec(metrics=("converted",)), DataError,
     "same outcome"),
    (_users(10, 2, 10, 3, revenue=[5.0] * 20), ExperimentSpec(metrics=("revenue",)),
     DataError, "constant"),
    (pd.DataFrame({"variant": ["control", "b"], "users": [100, 0], "conv": [5, 0]}),
     ExperimentSpec(layout="aggregated", users_col="users", conversion_cols=("conv",)),
     DataError, "no users"),
    (pd.DataFrame({"variant": ["control", "b"], "users": [100, 10], "conv": [5, 12]}),
     ExperimentSpec(layout="aggregated", users_col="users", conversion_cols=("conv",)),
     DataError, "more conversions"),
    (pd.DataFrame({"variant": ["control", "b"], "converted": [1, 0]}).iloc[:0],
     ExperimentSpec(metrics=("converted",)), DataError, "empty"),
])
def test_bad_input_gets_a_clear_message(frame, spec, error, message):
    with pytest.raises(error, match=message):
        analyse_experiment(frame, spec)


def test_missing_values_are_counted_not_dropped_silently():
    frame = _users(200, 20, 200, 30, revenue=np.r_[np.full(390, 4.0), [np.nan] * 10])
    frame.loc[:389, "revenue"] += np.arange(390) % 7
    frame.loc[0, "variant"] = None
    result = analyse_experiment(frame, ExperimentSpec(metrics=("converted", "revenue")))
    codes = {n.code: n.message for n in result.notices}
    assert "1 rows have no variant" in codes["missing_variant"]
    assert "10 users have no value" in codes["missing_metric"]
    assert sum(result.users) == 399


def test_sample_ratio_mismatch_raises_a_loud_warning():
    frame = _users(5000, 500, 4600, 460)
    result = analyse_experiment(frame, ExperimentSpec(metrics=("converted",)))
    srm = next(n for n in result.notices if n.code == "srm")
    assert srm.level == "error" and "not trustworthy" in srm.message
    planned = analyse_experiment(frame, ExperimentSpec(metrics=("converted",),
                                                       planned_weights=(50, 46)))
    assert not any(n.code == "srm" for n in planned.notices)


def test_three_variants_chi_square_and_per_variant_holm():
    frame = pd.concat([_users(1000, 100, 1000, 130),
                       _users(0, 0, 1000, 90).assign(variant="b2")], ignore_index=True)
    result = analyse_experiment(frame, ExperimentSpec(metrics=("converted",)))
    assert result.variants == ["control", "b2", "treatment"]
    omnibus = result.omnibus["converted"]
    assert omnibus.dof == 2
    assert omnibus.p_value == pytest.approx(proportions_test([100, 90, 130],
                                                             [1000, 1000, 1000]).p_value)
    ps = sorted(r.p_value for r in result.comparisons)
    assert min(r.p_adjusted for r in result.comparisons) == pytest.approx(2 * ps[0])


def test_simpsons_paradox_is_flagged():
    # Two segments, treatment better in each, but mostly shown to the low-converting one.
    high = _users(800, 400, 200, 110).assign(segment="high")
    low = _users(200, 20, 800, 96).assign(segment="low")
    frame = pd.concat([high, low], ignore_index=True)
    result = analyse_experiment(frame, ExperimentSpec(metrics=("converted",),
                                                      segment_col="segment"))
    pooled = result.comparisons[0].difference
    assert pooled < 0
    seg = result.segments.set_index("segment")
    assert (seg["difference"] > 0).all()
    assert seg.loc["high", "difference"] == pytest.approx(0.55 - 0.5)
    notice = next(n for n in result.notices if n.code == "simpson")
    assert notice.level == "error"


def test_join_labels_counts_users_without_a_label():
    frame = _users(3, 1, 3, 2)
    labels = pd.Series({"u0": "Bargain hunter", "u4": "Loyal", "zz": "Other"})
    joined, missing = join_labels(frame, labels, "persona")
    assert list(joined["persona"]) == ["Bargain hunter", "(none)", "(none)", "(none)",
                                       "Loyal", "(none)"]
    assert missing == 4
    with pytest.raises(ConfigError, match="user id column"):
        join_labels(frame.drop(columns="user_id"), labels, "persona")


def test_timeline_peeking_and_sequential_p_values():
    rng = np.random.default_rng(8)
    n = 6000
    frame = pd.DataFrame({"variant": rng.choice(["control", "treatment"], n),
                          "converted": rng.random(n) < 0.1,
                          "ts": pd.Timestamp("2026-01-01", tz="UTC")
                          + pd.to_timedelta(rng.integers(0, 14 * 86400, n), unit="s")})
    spec = ExperimentSpec(metrics=("converted",), ts_col="ts", sequential=True)
    result = analyse_experiment(frame, spec)
    table = result.timeline
    assert table["day"].nunique() == 14
    last = table[(table.variant == "treatment")].iloc[-1]
    assert last["users"] == (frame.variant == "treatment").sum()
    assert last["p_value"] == pytest.approx(result.comparisons[0].p_value)
    seq = table[table.variant == "treatment"]["sequential_p"].to_numpy()
    assert (np.diff(seq) <= 1e-12).all() and (seq >= 0).all()
    assert not any(n.code == "no_timestamps" for n in result.notices)


def test_infer_types_reads_csv_text():
    raw = pd.DataFrame({"user_id": ["001", "002"], "variant": ["0", "1"],
                        "converted": ["true", "False"], "revenue": ["1.5", ""]})
    typed = infer_types(raw)
    assert list(typed["user_id"]) == ["001", "002"]
    assert list(typed["variant"]) == ["0", "1"]
    assert typed["converted"].tolist() == [True, False]
    assert typed["revenue"].iloc[0] == 1.5 and np.isnan(typed["revenue"].iloc[1])


def _cli(*args):
    return run_cli("abtest", *args)


def test_abtest_command_prints_the_same_numbers(tmp_path, sample):
    path = tmp_path / "ab.csv"
    sample.to_csv(path, index=False)
    done = _cli(str(path), "--metric", "converted", "--metric", "revenue", "--json",
                "-o", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    direct = analyse_experiment(sample, ExperimentSpec(metrics=("converted", "revenue")))
    assert payload["sentences"] == direct.sentences
    assert payload["table"][0]["p_value"] == pytest.approx(direct.comparisons[0].p_value)
    assert len(pd.read_csv(tmp_path / "out.csv")) == 2
    text = _cli(str(path))
    assert text.returncode == 0 and "treatment" in text.stdout.splitlines()[0]
    bad = _cli(str(path), "--control", "nobody")
    assert bad.returncode == 3 and "not a value of 'variant'" in bad.stderr
