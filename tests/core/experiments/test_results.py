"""The results row: every number checked against an independent computation (statsmodels
and scipy), the direction of wins and losses, the disagreement sentence, the per-segment
forest plot with Simpson's check in words, and the rule-timing check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower, zt_ind_solve_power
from statsmodels.stats.proportion import power_proportions_2indep, proportion_confint

from core.experiments import charts
from core.experiments.analysis import ExperimentSpec, analyse_experiment
from core.experiments.breakdown import simpson_sentence
from core.experiments.results import (
    DEFAULT_POWER,
    ICONS,
    chance_to_beat_normal,
    direction_of,
    disagreement_sentence,
    higher_is_better,
    results_rows,
    sample_ratio_line,
    segment_panels,
    summary_records,
)
from core.experiments.timing import BEFORE_RULE, rule_timing


def _users(n_c, x_c, n_t, x_t, names=("control", "treatment"), **extra) -> pd.DataFrame:
    """Per-user rows with exactly x converted users among n per variant."""
    variant = [names[0]] * n_c + [names[1]] * n_t
    converted = [1] * x_c + [0] * (n_c - x_c) + [1] * x_t + [0] * (n_t - x_t)
    return pd.DataFrame({"user_id": [f"u{i}" for i in range(n_c + n_t)],
                         "variant": variant, "converted": converted, **extra})


def _rows(frame, lower=None, caveats=(), **spec):
    spec = ExperimentSpec(metrics=spec.pop("metrics", ("converted",)), **spec)
    analysis = analyse_experiment(frame, spec)
    return analysis, results_rows(analysis, lower, caveats)


# ----------------------------------------------------------------------- the numbers


def test_rates_and_their_wilson_intervals_match_statsmodels():
    _, (row,) = _rows(_users(2500, 230, 2400, 262))
    for (x, n), value, ci in (((230, 2500), row.control_value, row.control_ci),
                              ((262, 2400), row.variant_value, row.variant_ci)):
        assert value == pytest.approx(x / n)
        assert ci == pytest.approx(proportion_confint(x, n, 0.05, method="wilson"))
    assert row.value_interval == "Wilson"
    assert (row.control_n, row.variant_n) == (2500, 2400)
    assert row.difference == pytest.approx(262 / 2400 - 230 / 2500)


def test_means_and_their_t_intervals_match_scipy():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"variant": ["control"] * 400 + ["treatment"] * 380,
                          "revenue": np.r_[rng.gamma(2, 5, 400), rng.gamma(2, 5.6, 380)]})
    _, (row,) = _rows(frame, metrics=("revenue",), rank_test=False)
    control = frame.loc[frame.variant == "control", "revenue"]
    treated = frame.loc[frame.variant == "treatment", "revenue"]
    for values, mean, ci in ((control, row.control_value, row.control_ci),
                             (treated, row.variant_value, row.variant_ci)):
        expected = stats.t.interval(0.95, len(values) - 1, loc=values.mean(),
                                    scale=stats.sem(values))
        assert mean == pytest.approx(values.mean())
        assert ci == pytest.approx(expected)
    welch = stats.ttest_ind(treated, control, equal_var=False)
    assert row.raw_p_value == pytest.approx(welch.pvalue)
    assert row.value_interval == "t"
    # Chance to beat control for a mean: Φ(difference / standard error), a flat prior on
    # the difference; the standard error from the two samples directly.
    se = np.sqrt(control.var(ddof=1) / len(control) + treated.var(ddof=1) / len(treated))
    assert row.chance_to_beat == pytest.approx(
        stats.norm.cdf((treated.mean() - control.mean()) / se))
    assert "normal approximation" in row.chance_convention


def test_chance_to_beat_a_rate_matches_monte_carlo_and_quadrature():
    _, (row,) = _rows(_users(2548, 232, 2442, 262))
    # Beta(1 + x, 1 + n - x) posteriors (flat prior).
    a_c, b_c, a_t, b_t = 1 + 232, 1 + 2548 - 232, 1 + 262, 1 + 2442 - 262
    rng = np.random.default_rng(11)
    draws = 400_000
    mc = np.mean(stats.beta.rvs(a_t, b_t, size=draws, random_state=rng)
                 > stats.beta.rvs(a_c, b_c, size=draws, random_state=rng))
    assert row.chance_to_beat == pytest.approx(mc, abs=3 * np.sqrt(mc * (1 - mc) / draws))
    from scipy import integrate

    exact, _ = integrate.quad(lambda x: stats.beta.pdf(x, a_t, b_t) * stats.beta.cdf(
        x, a_c, b_c), 0, 1, points=[0.08, 0.1, 0.12], limit=200)
    assert row.chance_to_beat == pytest.approx(exact, abs=1e-6)
    assert "flat Beta(1, 1)" in row.chance_convention


def test_the_smallest_detectable_rate_change_has_80_percent_power_in_statsmodels():
    _, (row,) = _rows(_users(3000, 300, 3000, 320))
    d = row.detectable
    assert d.users_per_variant == 3000 and d.power == DEFAULT_POWER
    # statsmodels: pooled variance under H0, unpooled under H1 (as R's power.prop.test).
    power = power_proportions_2indep(d.absolute, 0.10, 3000, alpha=0.05,
                                     return_results=False)
    assert power == pytest.approx(0.8, abs=1e-3)
    assert d.relative == pytest.approx(d.absolute / 0.10)
    text = row.detectable_text()
    assert text == (f"this test could detect a change of ±{d.absolute * 100:.2f} pp "
                    f"(relative {d.relative * 100:.0f} %) with 80 % power")


def test_the_smallest_detectable_mean_change_matches_the_t_and_z_power_solvers():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"variant": ["control"] * 500 + ["treatment"] * 450,
                          "revenue": np.r_[rng.normal(10, 4, 500), rng.normal(10.3, 5, 450)]})
    _, (row,) = _rows(frame, metrics=("revenue",), rank_test=False)
    sds = frame.groupby("variant")["revenue"].std(ddof=1)
    sd = np.sqrt((sds["control"] ** 2 + sds["treatment"] ** 2) / 2)
    effect = TTestIndPower().solve_power(nobs1=450, alpha=0.05, power=0.8)
    assert row.detectable.absolute == pytest.approx(effect * sd, rel=1e-6)
    # The normal (z) solver gives nearly the same with 450 users per arm.
    z_effect = zt_ind_solve_power(nobs1=450, alpha=0.05, power=0.8)
    assert row.detectable.absolute == pytest.approx(z_effect * sd, rel=0.01)
    assert row.detectable_size() == f"±{effect * sd:,.3g}"


def test_the_corrected_p_value_decides_and_is_named():
    rng = np.random.default_rng(5)
    frame = _users(3000, 300, 3000, 345, revenue=rng.normal(10, 3, 6000))
    analysis, rows = _rows(frame, metrics=("converted", "revenue"), rank_test=False)
    conv = rows[0]
    comparison = analysis.comparisons[0]
    assert conv.p_name == "Holm-adjusted p"
    assert conv.p_value == pytest.approx(comparison.p_adjusted)
    assert conv.raw_p_value == pytest.approx(comparison.p_value)
    _, rows = _rows(frame, metrics=("converted", "revenue"), rank_test=False,
                    correction="none")
    assert rows[0].p_name == "p" and rows[0].p_value == pytest.approx(comparison.p_value)


# ----------------------------------------------------------------------- direction


def test_a_significant_loss_is_a_loss_and_never_gets_the_win_icon():
    _, (row,) = _rows(_users(4000, 800, 4000, 600))
    assert row.significant and row.difference < 0
    assert row.direction == "loss" and row.status == "loss"
    assert row.icon == ICONS["loss"] == ":material/trending_down:"
    assert row.icon != ICONS["win"] and row.colour == "red" and row.badge == "Loss"
    assert row.chance_to_beat < 1e-6
    _, (win,) = _rows(_users(4000, 600, 4000, 800))
    assert (win.direction, win.icon, win.colour) == ("win", ":material/trending_up:",
                                                      "green")
    _, (flat,) = _rows(_users(4000, 600, 4000, 610))
    assert (flat.direction, flat.icon, flat.colour) == ("inconclusive", ":material/remove:",
                                                         "gray")


def test_lower_is_better_turns_a_fall_into_a_win():
    frame = _users(4000, 800, 4000, 600).rename(columns={"converted": "bounced"})
    _, (row,) = _rows(frame, metrics=("bounced",))
    assert not row.higher_is_better
    assert row.direction == "win" and row.icon == ":material/trending_up:"
    # Chance to beat control counts the good direction: a lower bounce rate.
    assert row.chance_to_beat > 1 - 1e-6
    _, (forced,) = _rows(frame, lower=[], metrics=("bounced",))
    assert forced.direction == "loss"
    assert higher_is_better("revenue") and higher_is_better("converted")
    assert not higher_is_better("cart_abandonment_rate")
    assert not higher_is_better("revenue", lower_is_better={"revenue"})
    assert direction_of(-1.0, True, False) == "win"
    assert direction_of(1.0, False, True) == "inconclusive"


def test_a_caveat_makes_a_win_doubtful_and_keeps_its_direction():
    _, (row,) = _rows(_users(4000, 600, 4000, 800), caveats=[BEFORE_RULE])
    assert row.direction == "win" and row.status == "doubtful"
    assert row.icon == ":material/warning:" and row.badge == "Doubtful win"
    assert row.caveats == (BEFORE_RULE,)
    # A sample ratio mismatch is a caveat of every row.
    analysis, (row,) = _rows(_users(4000, 600, 3000, 800))
    assert analysis.srm_alarm and row.status == "doubtful"
    assert any(c.startswith("sample ratio mismatch") for c in row.caveats)
    line = sample_ratio_line(analysis)
    assert line.alarm and line.text.startswith("Sample ratio mismatch")


def test_sample_ratio_ok_line_names_the_p_value_and_the_split():
    analysis, _ = _rows(_users(2500, 230, 2450, 262))
    expected = stats.chisquare([2500, 2450]).pvalue
    line = sample_ratio_line(analysis)
    assert not line.alarm and line.p_value == pytest.approx(expected)
    assert line.text.startswith(f"Sample ratio OK (p = {expected:.2f} against the planned "
                                "split control 50 %, treatment 50 %")


# ----------------------------------------------------------------------- disagreement


def test_a_p_value_and_a_chance_to_beat_that_disagree_are_explained():
    # p ≈ 0.08 two-sided but chance to beat control ≈ 96 %: both are right.
    _, (row,) = _rows(_users(3000, 300, 3000, 340))
    assert 0.05 < row.p_value < 0.10 and not row.significant
    assert row.chance_to_beat > 0.95
    assert row.disagreement.startswith(f"p = {row.p_value:.3f} is not significant, yet the "
                                       f"chance to beat control is "
                                       f"{row.chance_to_beat * 100:.1f} %")
    assert "They answer different questions." in row.disagreement
    assert "posterior probability that the variant is better" in row.disagreement
    # Agreeing numbers need no sentence.
    _, (clear,) = _rows(_users(3000, 300, 3000, 420))
    assert clear.significant and clear.disagreement is None
    assert disagreement_sentence(False, 0.4, "p", 0.7, 0.05, "a flat prior", False) is None
    assert disagreement_sentence(False, 0.2, "p", None, 0.05, "a flat prior", False) is None
    assert "correction" in disagreement_sentence(False, 0.11, "Holm-adjusted p", 0.97,
                                                 0.05, "a flat prior", True)


def test_chance_to_beat_normal_edges():
    assert chance_to_beat_normal(0.0, 1.0) == 0.5
    assert chance_to_beat_normal(1.0, 0.0) == 1.0
    assert np.isnan(chance_to_beat_normal(float("nan"), 1.0))


def test_summary_records_are_json_and_have_no_nan():
    _, rows = _rows(_users(3000, 300, 3000, 340))
    records = summary_records(rows)
    json.dumps(records, allow_nan=False)
    assert records[0]["direction"] == "inconclusive" and records[0]["p_name"] == "p"


# ----------------------------------------------------------------------- segments


def _simpson_frame() -> pd.DataFrame:
    """Within each persona the treatment converts less; the treatment holds mostly the
    persona that converts most, so the total rises (Simpson's paradox)."""
    parts = []
    # persona, control users, control conversions, treatment users, conversions
    for persona, n_c, x_c, n_t, x_t in (("Loyal", 300, 150, 1700, 782),
                                        ("Browsers", 1700, 170, 300, 24),
                                        ("Bargain", 900, 180, 300, 51)):
        part = _users(n_c, x_c, n_t, x_t)
        part["persona"] = persona
        part["user_id"] = persona + "-" + part["user_id"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def test_simpsons_paradox_is_said_in_words_and_drawn():
    frame = _simpson_frame()
    analysis = analyse_experiment(frame, ExperimentSpec(metrics=("converted",),
                                                        segment_col="persona"))
    (panel,) = segment_panels(analysis, noun="persona")
    assert panel.total_difference > 0
    assert (panel.rows["difference"] < 0).all()
    assert panel.sentence.startswith("Simpson's paradox: the total conversion rises while "
                                     "every one of the 3 personas falls — the mix of "
                                     "personas differs between variants")
    assert "χ² test of the mix p < 0.001" in panel.sentence
    fig = charts.segment_forest([panel], 0.05, "persona")
    trace = fig.data[0]
    assert next(iter(trace.y)) == "<b>All users</b> (n = 5,200)"
    assert "Loyal (n = 2,000)" in list(trace.y)
    assert next(iter(trace.marker.symbol)) == "diamond"
    assert trace.x[0] == pytest.approx(panel.total_difference * 100)


def test_segment_sentences_when_the_personas_agree_or_a_few_disagree():
    rated = pd.DataFrame({"segment": ["A", "B", "C", "D"],
                          "control_n": [500, 500, 500, 500],
                          "treatment_n": [500, 500, 500, 500],
                          "difference": [0.02, 0.01, 0.03, -0.01],
                          "significant": [True, False, True, False]})
    assert simpson_sentence(0.01, rated.iloc[:3], "conversion", "persona") == (
        "Every persona moves the same way as the total: conversion rises in all 3 personas.")
    assert simpson_sentence(0.01, rated, "conversion", "persona") == (
        "3 of 4 personas move the same way as the total (conversion rises); 'D' moves "
        "the other way, not significantly.")
    # Most fall but the mix is the same in both variants: not Simpson's paradox.
    most = rated.assign(difference=[-0.02, -0.01, -0.03, 0.2])
    text = simpson_sentence(0.03, most, "conversion", "persona")
    assert text.startswith("The total conversion rises while 3 of 4 personas fall")
    assert text.endswith("so this is not Simpson's paradox.")
    assert simpson_sentence(0.01, rated.assign(difference=np.nan), "conversion",
                            "persona") == ("No persona has enough users to estimate an "
                                           "effect on conversion.")


# ----------------------------------------------------------------------- charts


def test_results_row_chart_colours_and_escapes_names():
    frame = _users(4000, 800, 4000, 600, names=("control", "<b>new</b> flow"))
    _, rows = _rows(frame, control="control")
    fig = charts.results_row_chart(rows, 0.05)
    line, point = fig.data
    assert point.marker.color == charts.DIRECTION_COLOURS["loss"] == charts.RED
    assert list(point.y) == ["&lt;b&gt;new&lt;/b&gt; flow"]
    # The whisker spans the difference's interval in percentage points.
    assert list(line.x) == pytest.approx([v * 100 for v in rows[0].difference_ci])
    assert point.x[0] == pytest.approx(rows[0].difference * 100)
    win = _rows(_users(4000, 600, 4000, 800))[1]
    assert charts.results_row_chart(win, 0.05).data[1].marker.color == charts.GREEN
    flat = _rows(_users(4000, 600, 4000, 610))[1]
    assert charts.results_row_chart(flat, 0.05).data[1].marker.color == charts.GREY


# ----------------------------------------------------------------------- rule timing


def test_outcomes_before_the_rule_are_not_a_test_of_it():
    stamps = pd.Series(pd.date_range("2024-03-01", periods=10, freq="D"))
    timing = rule_timing(stamps, "2024-03-06T00:00:00Z", "Win back")
    assert timing.status == "before" and not timing.trusted
    assert timing.rows_before == 5 and timing.caveat == BEFORE_RULE
    assert timing.sentence("B raises conversion.") == f"B raises conversion — but {BEFORE_RULE}."
    assert timing.notice().level == "error"
    assert timing.message.startswith("Outcomes recorded before the rule existed: this is "
                                     "not a test of the rule. 5 of 10 outcomes (50%)")
    assert rule_timing(stamps, "2024-02-01T00:00:00Z", "Win back").status == "ok"
    none = rule_timing(None, "2024-02-01T00:00:00Z", "Win back")
    assert none.status == "no_timestamp" and "cannot be checked" in none.message
    unknown = rule_timing(stamps, None, "Win back")
    assert unknown.status == "unknown_time" and "no known creation time" in unknown.message
    assert unknown.trusted and unknown.caveat is None
    # Times with an offset are compared in UTC.
    local = pd.Series(["2024-03-06T01:30:00+02:00"])
    assert rule_timing(local, "2024-03-06T00:00:00Z", "r").status == "before"


def test_rule_times_are_stamped_kept_and_saved():
    from core.rules.grammar import parse_rule
    from core.rules.json_io import rule_set_from_json, rule_set_to_json
    from core.rules.model import Rule, RuleSet, stamp_times

    a = parse_rule("sessions > 3 -> show push holdout 10%")
    b = parse_rule("sessions > 5 -> show push holdout 10%")
    old = RuleSet([Rule("kept", "Kept", a.condition, a.action),
                   Rule("edited", "Edited", a.condition, a.action,
                        created_at="2024-01-01T00:00:00Z")])
    new = RuleSet([Rule("kept", "Kept again", a.condition, a.action, enabled=False),
                   Rule("edited", "Edited", b.condition, b.action),
                   Rule("added", "Added", a.condition, a.action)])
    stamped = stamp_times(old, new, "2024-06-01T12:00:00Z")
    kept, edited, added = stamped.rules
    # An old rule without a time stays unknown; an edit keeps the creation time.
    assert (kept.created_at, kept.changed_at, kept.since) == (None, None, None)
    assert edited.created_at == "2024-01-01T00:00:00Z"
    assert edited.since == edited.changed_at == "2024-06-01T12:00:00Z"
    assert (added.created_at, added.since) == ("2024-06-01T12:00:00Z",) * 2
    # Saved and read back; files without the times still load (None: unknown).
    back = rule_set_from_json(json.loads(json.dumps(rule_set_to_json(stamped))))
    assert [r.since for r in back.rules] == [r.since for r in stamped.rules]
    assert "created_at" not in rule_set_to_json(stamped)["rules"][0]
