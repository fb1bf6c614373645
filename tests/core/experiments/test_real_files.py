"""A/B analysis of files shaped like real exports: which columns are metrics, which
variant is the control, users repeated on several rows, values that are not yes/no,
tiny arms and alarms in the verdict.

Numbers are checked against an independent computation in the test (pandas for the
counts; statsmodels ``proportions_ztest``, scipy ``chi2_contingency``, ``ttest_ind`` and
``fisher_exact`` for the tests), or against values published in scipy's documentation.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from core.experiments.analysis import ExperimentSpec, analyse_experiment
from core.experiments.columns import metric_role
from core.experiments.frequentist import (
    MIN_OUTCOMES_PER_ARM,
    MIN_USERS_PER_ARM,
    too_few_to_estimate,
)
from core.experiments.inputs import (
    choose_control,
    default_control,
    guess_columns,
    label_join_problem,
    read_experiment_bytes,
)

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}


def export(n: int = 1200, variants=("control", "treatment"), maybe: int = 7,
           empty: int = 4, seed: int = 3) -> pd.DataFrame:
    """A per-user export as a shop writes it: ids, a yes/no flag in mixed case with a few
    "maybe" and empty cells, revenue, the item shown and its position in the list."""
    rng = np.random.default_rng(seed)
    variant = np.asarray(variants, dtype=object)[rng.integers(0, len(variants), n)]
    rate = np.where(variant == variants[0], 0.10, 0.15)
    bought = rng.random(n) < rate
    converted = np.where(bought, "yes", "no").astype(object)
    spelled = rng.choice(n, 60, replace=False)
    converted[spelled[:30]] = np.where(bought[spelled[:30]], "Yes", "NO")
    converted[spelled[30:]] = np.where(bought[spelled[30:]], "YES", "No")
    odd = rng.choice(np.setdiff1d(np.arange(n), spelled), maybe + empty, replace=False)
    converted[odd[:maybe]] = "maybe"
    converted[odd[maybe:]] = ""
    revenue = np.where(bought, np.round(rng.lognormal(3, 0.7, n), 2), 0.0)
    return pd.DataFrame({
        "row": np.arange(1, n + 1), "user_id": [f"u{i:05d}" for i in range(n)],
        "variant": variant, "converted": converted, "revenue": revenue,
        "item_id": rng.integers(1, 400, n), "position": rng.integers(1, 11, n)})


def as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame written to CSV and read back the way the page and the CLI read files."""
    return read_experiment_bytes(frame.to_csv(index=False).encode(), "export.csv")


def flags(values: pd.Series) -> pd.Series:
    """Independent reading of a yes/no column: 1, 0 or missing."""
    text = values.astype(str).str.strip().str.lower()
    return pd.Series(np.where(text.isin(YES), 1.0, np.where(text.isin(NO), 0.0, np.nan)),
                     index=values.index)


def counts(frame: pd.DataFrame, control: str, treatment: str, column: str = "converted"):
    """Converted users and users with a usable value per arm (control, treatment)."""
    value = flags(frame[column])
    ok = value.notna()
    x = [int(value[ok & (frame.variant == v)].sum()) for v in (control, treatment)]
    n = [int((ok & (frame.variant == v)).sum()) for v in (control, treatment)]
    return x, n


# ----------------------------------------------------------------------------- metrics


def test_default_metrics_are_the_flag_and_revenue_not_ids_or_positions():
    guess = guess_columns(as_read(export()))
    assert guess.metrics == ["converted", "revenue"]
    assert guess.user == "user_id" and guess.variant == "variant"
    assert set(guess.skipped) == {"row", "item_id", "position"}
    assert "id" in guess.skipped["item_id"]


@pytest.mark.parametrize("values", [
    [0, 1, 1, 0, 1, 0] * 5,
    [True, False, True, False, None, True] * 5,
    ["yes", "no", "Yes", "NO", "", "no"] * 5,
    ["TRUE", "false", "True", "FALSE", None, "false"] * 5,
    ["Y", "n", "y", "N", "n", np.nan] * 5,
    [1.0, 0.0, np.nan, 0.0, 1.0, 0.0] * 5,
])
def test_conversion_like_columns_in_any_spelling_are_default_metrics(values):
    frame = pd.DataFrame({"variant": ["control", "treatment"] * 15, "clicked": values})
    for table in (frame, as_read(frame)):
        assert guess_columns(table).metrics == ["clicked"]
        assert metric_role("clicked", table["clicked"])[0] == "conversion"


@pytest.mark.parametrize(("name", "values"), [
    ("id", range(40)), ("item", [3, 1, 2, 5] * 10), ("itemId", [7, 8, 9, 7] * 10),
    ("product_id", [1.5, 2.5] * 20), ("position", [1, 2, 3, 4] * 10),
    ("rank", [1, 2, 3, 4] * 10), ("slot", [0, 1, 2, 3] * 10), ("index", range(40)),
    ("row_number", range(40)), ("Unnamed: 0", range(40)), ("event_time", range(40)),
    ("created_at", range(40)), ("timestamp", range(1_700_000_000, 1_700_000_040)),
    # Not named like an id, but shaped like one: unique whole numbers, or sorted ones.
    ("ref", np.random.default_rng(1).permutation(40) * 7 + 1000),
    ("seen", np.repeat(np.arange(10), 4) + 1_700_000_000),
])
def test_ids_positions_and_times_are_never_default_metrics(name, values):
    frame = pd.DataFrame({"variant": ["A", "B"] * 20, name: list(values),
                          "converted": [0, 1, 1, 0] * 10})
    guess = guess_columns(frame)
    assert name not in guess.metrics
    assert guess.metrics == ["converted"]
    assert metric_role(name, frame[name])[0] == "id"


@pytest.mark.parametrize(("name", "default"), [
    ("revenue", True), ("sales_value", True), ("amountUSD", True), ("total_spend", True),
    ("net_revenue", True), ("clicks", False), ("duration_s", False), ("sessions", False),
])
def test_continuous_columns_are_default_means_only_when_named_like_money(name, default):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"variant": ["A", "B"] * 50,
                          name: np.round(rng.lognormal(2, 1, 100), 2)})
    guess = guess_columns(frame)
    assert (name in guess.metrics) is default
    assert (name in guess.skipped) is not default


def test_any_column_can_still_be_picked_by_hand():
    frame = as_read(export())
    result = analyse_experiment(frame, ExperimentSpec(metrics=("position",),
                                                      user_col="user_id"))
    row = result.comparisons[0]
    c = frame.loc[frame.variant == "control", "position"]
    t = frame.loc[frame.variant == "treatment", "position"]
    assert row.kind == "mean"
    assert row.p_value == pytest.approx(stats.ttest_ind(t, c, equal_var=False).pvalue)


def test_a_default_only_metric_keeps_the_correction_for_the_real_one():
    # Holm over the guessed metrics: the two real ones, not the ids and positions too.
    frame = as_read(export())
    guess = guess_columns(frame)
    result = analyse_experiment(frame, ExperimentSpec(metrics=tuple(guess.metrics),
                                                      user_col="user_id"))
    assert {r.family_size for r in result.comparisons} == {2}


# ----------------------------------------------------------------------------- values


def test_values_that_are_not_yes_no_are_counted_named_and_left_out():
    raw = export(maybe=7, empty=4)
    frame = as_read(raw)
    result = analyse_experiment(frame, ExperimentSpec(metrics=("converted",),
                                                      user_col="user_id"))
    notice = next(n for n in result.notices if n.code == "unusable_values")
    assert notice.level == "warning" and notice.subject == "converted"
    assert "7 values are not yes/no" in notice.message and "'maybe'" in notice.message
    assert "4 more cells are empty" in notice.message
    missing = next(n for n in result.notices if n.code == "missing_metric")
    assert "11 users have no value" in missing.message
    x, n = counts(raw, "control", "treatment")
    row = result.comparisons[0]
    assert (row.control_n, row.treatment_n) == tuple(n)
    assert (row.control_value, row.treatment_value) == pytest.approx(
        (x[0] / n[0], x[1] / n[1]))
    # statsmodels counts the first group as the larger one; our z is treatment - control.
    z, p = proportions_ztest([x[1], x[0]], [n[1], n[0]])
    assert row.statistic == pytest.approx(z)
    assert row.p_value == pytest.approx(p)
    chi2 = stats.chi2_contingency([[x[0], n[0] - x[0]], [x[1], n[1] - x[1]]],
                                  correction=False)
    assert row.p_value == pytest.approx(chi2.pvalue)


def test_mostly_text_is_still_refused_with_a_message():
    frame = pd.DataFrame({"variant": ["A", "B"] * 20, "note": ["great", "meh"] * 20})
    with pytest.raises(Exception, match="not numbers"):
        analyse_experiment(frame, ExperimentSpec(metrics=("note",)))


# ----------------------------------------------------------------------------- control


@pytest.mark.parametrize(("variants", "control"), [
    (["control", "treatment"], "control"), (["B", "A"], "A"), (["a", "b"], "a"),
    (["v1", "baseline", "v2"], "baseline"), (["Variant B", "Control Group"], "Control Group"),
    (["challenger", "CHAMPION"], "CHAMPION"), (["new", "original"], "original"),
    (["treatment", "holdout"], "holdout"), (["test", "Default"], "Default"),
    (["variant_b", "variant_a"], "variant_a"), (["v2", "base", "v1"], "base"),
])
def test_the_control_is_the_variant_named_like_one(variants, control):
    choice = choose_control(variants, [100] * len(variants))
    assert (choice.name, choice.rule) == (control, "named")
    assert "named like a control" in choice.reason


def test_without_a_control_name_the_largest_variant_is_the_control():
    frame = pd.DataFrame({"variant": ["x"] * 40 + ["y"] * 60 + ["z"] * 50,
                          "converted": ([0] * 30 + [1] * 10) + ([0] * 45 + [1] * 15)
                          + ([0] * 38 + [1] * 12)})
    result = analyse_experiment(frame, ExperimentSpec(metrics=("converted",)))
    assert result.control == "y" and result.variants == ["y", "x", "z"]
    notice = next(n for n in result.notices if n.code == "control")
    assert notice.level == "info" and "the most users (60)" in notice.message
    assert result.summary()["control"] == {"name": "y", "reason": notice.message[
        len("Control: 'y', "):notice.message.index(". Choose")]}
    given = analyse_experiment(frame, ExperimentSpec(metrics=("converted",), control="x"))
    assert given.control == "x"
    told = next(n for n in given.notices if n.code == "control").message
    assert "as chosen" in told and "'y'" in told


def test_the_page_default_control_counts_distinct_users():
    frame = pd.DataFrame({"variant": ["p"] * 50 + ["q"] * 40,
                          "user_id": [f"u{i % 10}" for i in range(50)]
                          + [f"w{i}" for i in range(40)]})
    assert default_control(frame, "variant").name == "p"  # more rows
    assert default_control(frame, "variant", "user_id").name == "q"  # more users


# ----------------------------------------------------------------------------- users


def _with_repeats() -> pd.DataFrame:
    """A per-user export where a join repeated some users and two users leaked into
    both arms."""
    base = export(n=600, maybe=0, empty=0, seed=9)[["user_id", "variant", "converted",
                                                    "revenue"]]
    extra = pd.DataFrame({
        "user_id": ["u00001", "u00001", "mixA", "mixA", "mixB", "mixB", "mixB"],
        "variant": [base.loc[1, "variant"]] * 2 + ["control", "treatment", "treatment",
                                                   "control", "control"],
        "converted": ["yes", "no", "yes", "no", "no", "yes", "no"],
        "revenue": [12.5, 0.0, 20.0, 0.0, 0.0, 9.0, 0.0]})
    return pd.concat([base, extra], ignore_index=True)


def test_repeated_users_are_counted_once_and_mixed_users_left_out():
    raw = _with_repeats()
    result = analyse_experiment(raw, ExperimentSpec(metrics=("converted", "revenue"),
                                                    user_col="user_id", rank_test=False))
    # Independent: drop users seen in two variants, then one row per user with
    # converted = any and revenue = sum.
    arms = raw.groupby("user_id")["variant"].nunique()
    kept = raw[raw.user_id.isin(arms[arms == 1].index)].assign(
        converted=lambda f: flags(f.converted))
    users = kept.groupby("user_id").agg(variant=("variant", "first"),
                                        converted=("converted", "max"),
                                        revenue=("revenue", "sum"))
    assert users.loc["u00001", "converted"] == 1
    assert users.loc["u00001", "revenue"] == pytest.approx(raw.loc[1, "revenue"] + 12.5)
    per_arm = users.groupby("variant").size()
    assert result.users == [per_arm["control"], per_arm["treatment"]]
    c, t = users[users.variant == "control"], users[users.variant == "treatment"]
    conv, rev = result.comparisons
    _, p = proportions_ztest([t.converted.sum(), c.converted.sum()], [len(t), len(c)])
    assert conv.p_value == pytest.approx(p)
    assert rev.p_value == pytest.approx(stats.ttest_ind(t.revenue, c.revenue,
                                                        equal_var=False).pvalue)
    codes = {n.code: n for n in result.notices}
    assert codes["mixed_variant_users"].level == "warning"
    assert codes["mixed_variant_users"].message.startswith("2 users appear in more than "
                                                           "one variant (5 rows)")
    repeated = codes["duplicate_users"]
    assert repeated.level == "warning" and repeated.message.startswith("1 users appear")
    assert "(2 extra rows)" in repeated.message
    assert "converted if any of their rows did" in repeated.message
    assert "revenue is summed over their rows" in repeated.message


def test_without_a_user_column_rows_are_said_to_be_users():
    result = analyse_experiment(_with_repeats(), ExperimentSpec(metrics=("converted",)))
    notice = next(n for n in result.notices if n.code == "rows_are_users")
    assert notice.level == "info" and "each row is counted as one user" in notice.message
    assert sum(result.users) == len(_with_repeats())


def test_a_unique_user_column_is_checked_and_said_so():
    result = analyse_experiment(as_read(export()), ExperimentSpec(metrics=("converted",),
                                                                  user_col="user_id"))
    assert any(n.code == "one_row_per_user" for n in result.notices)
    assert sum(result.users) == 1200


# ----------------------------------------------------------------------------- tiny arms


def _users(n_c: int, x_c: int, n_t: int, x_t: int, names=("A", "B")) -> pd.DataFrame:
    return pd.DataFrame({"variant": [names[0]] * n_c + [names[1]] * n_t,
                         "converted": [1] * x_c + [0] * (n_c - x_c) + [1] * x_t
                         + [0] * (n_t - x_t)})


def test_five_users_per_arm_are_too_few_to_estimate_not_minus_100_to_minus_100():
    result = analyse_experiment(_users(5, 2, 5, 0), ExperimentSpec(metrics=("converted",)))
    row = result.comparisons[0]
    assert not row.estimable
    assert all(math.isnan(v) for v in (*row.difference_ci, *row.relative_lift_ci))
    text = result.sentences[0]
    assert "too few users to estimate" in text and "n/a" in text
    assert "-100.0 % to -100.0 %" not in text
    notice = next(n for n in result.notices if n.code == "too_few_users")
    assert notice.level == "error" and notice in result.alarms
    assert f"at least {MIN_USERS_PER_ARM} users" in notice.message
    # Fisher's exact test still gives the p-value: an independent scipy call.
    assert row.p_value == pytest.approx(stats.fisher_exact([[0, 5], [2, 3]]).pvalue)
    table = result.summary()["table"][0]
    assert table["difference_ci_low"] is None and table["estimable"] is False


def test_too_few_users_use_fishers_exact_test_as_published_by_scipy():
    # scipy.stats.fisher_exact docs: [[8, 2], [1, 5]] -> p = 0.0349650...; as per-user
    # rows: treatment 8 of 10 converted, control 1 of 6.
    result = analyse_experiment(_users(6, 1, 10, 8), ExperimentSpec(metrics=("converted",)))
    row = result.comparisons[0]
    assert row.p_value == pytest.approx(0.0349650, abs=1e-7)
    assert row.fisher_p == row.p_value and row.test.startswith("Fisher")
    assert row.significant and "Fisher's exact p = 0.035" in result.sentences[0]


def test_many_users_but_no_conversions_in_an_arm_give_no_degenerate_interval():
    result = analyse_experiment(_users(1000, 50, 1000, 0),
                                ExperimentSpec(metrics=("converted",)))
    row = result.comparisons[0]
    assert not row.estimable and math.isnan(row.relative_lift_ci[0])
    assert "'B' has 0 conversions" in row.too_few
    assert row.p_value == pytest.approx(stats.fisher_exact([[0, 1000], [50, 950]]).pvalue)


@pytest.mark.parametrize(("users", "conversions", "short"), [
    ([30, 30], [5, 5], None), ([29, 30], [5, 5], "'A' has 29 users"),
    ([1000, 1000], [4, 50], "'A' has 4 conversions"),
    ([1000, 1000], [50, 996], "'B' has 4 non-conversions"),
])
def test_the_minimum_follows_the_textbook_rule(users, conversions, short):
    # n·p ≥ 5 and n·(1 − p) ≥ 5 per arm, and at least 30 users.
    assert MIN_OUTCOMES_PER_ARM == 5 and MIN_USERS_PER_ARM == 30
    reason = too_few_to_estimate(["A", "B"], users, conversions)
    assert reason is None if short is None else short in reason


def test_a_numeric_metric_in_tiny_arms_keeps_welchs_p_without_an_interval():
    rng = np.random.default_rng(4)
    c, t = rng.normal(10, 2, 12), rng.normal(11, 2, 12)
    frame = pd.DataFrame({"variant": ["A"] * 12 + ["B"] * 12, "revenue": np.r_[c, t]})
    row = analyse_experiment(frame, ExperimentSpec(metrics=("revenue",))).comparisons[0]
    assert not row.estimable and math.isnan(row.difference_ci[0])
    assert row.p_value == pytest.approx(stats.ttest_ind(t, c, equal_var=False).pvalue)


# ----------------------------------------------------------------------------- alarms


def test_a_significant_result_with_a_sample_ratio_mismatch_is_not_a_plain_win():
    frame = _users(5000, 500, 4500, 600, names=("control", "treatment"))
    result = analyse_experiment(frame, ExperimentSpec(metrics=("converted",)))
    row = result.comparisons[0]
    srm_p = stats.chisquare([5000, 4500]).pvalue
    assert row.significant and result.srm_alarm
    assert result.srm.p_value == pytest.approx(srm_p)
    text = result.sentences[0]
    assert f"but sample ratio mismatch (p = {srm_p:.2g})" in text
    assert text.endswith("do not trust this result.")
    assert [n.code for n in result.alarms] == ["srm"]
    assert result.summary()["alarms"][0]["code"] == "srm"


# ----------------------------------------------------------------------------- personas


def test_persona_labels_without_user_ids_say_why_they_cannot_be_joined():
    frame = export()
    labels = pd.Series({"u00001": "Bargain hunter", "u00002": "Loyal"})
    assert label_join_problem(frame, labels, "user_id") is None
    no_ids = frame.drop(columns="user_id")
    assert "no user id column" in label_join_problem(no_ids, labels, None)
    other = pd.Series({"zz": "Loyal"})
    assert "none of the 1,200 user ids" in label_join_problem(frame, other, "user_id")


def test_csv_with_odd_spellings_reads_back_as_written():
    # The fixtures go through the real reader: check it keeps what the tests rely on.
    frame = as_read(export())
    raw = export()
    assert (frame["user_id"] == raw["user_id"]).all()
    assert flags(frame["converted"]).isna().sum() == 11
    assert io.StringIO(raw.to_csv(index=False)).read().count("maybe") == 7
