"""Retention, retention curves and lifecycle on hand-built logs, and their charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.common.errors import ConfigError
from core.journeys.retention import (
    ALL_USERS,
    LIFECYCLE_CONVENTION,
    lifecycle,
    retention,
    retention_curve,
)
from core.journeys.retention_charts import (
    lifecycle_bars,
    patterns_chart,
    retention_curves,
    retention_heatmap,
)
from core.journeys.sequences import build_sequences, distinguishing_patterns

# ISO weeks of January 2024 (Monday 1st): W0 = 1-7, W1 = 8-14, W2 = 15-21, W3 = 22-28.
# The data ends on Wednesday the 24th, so W3 has 3 of its 7 days.
#   A: Sun 7th 23:30 (W0), Mon 8th 00:10 (W1), 22nd (W3)     -> weeks {0, 1, 3}
#   B: 2nd (W0), 16th (W2)                                   -> {0, 2}
#   C: 9th (W1), 15th and 20th (W2)                          -> {1, 2}
#   D: 10th (W1)                                             -> {1}
#   E: Sun 21st 23:59 (W2), Wed 24th 12:00 (W3, last event)  -> {2, 3}
#   F: 23rd (W3)                                             -> {3}
ROWS = [
    ("A", "2024-01-07 23:30"), ("A", "2024-01-08 00:10"), ("A", "2024-01-22 12:00"),
    ("B", "2024-01-02 09:00"), ("B", "2024-01-16 09:00"),
    ("C", "2024-01-09 09:00"), ("C", "2024-01-15 09:00"), ("C", "2024-01-20 09:00"),
    ("D", "2024-01-10 09:00"),
    ("E", "2024-01-21 23:59"), ("E", "2024-01-24 12:00"),
    ("F", "2024-01-23 09:00"),
]


def events(rows=ROWS) -> pd.DataFrame:
    return pd.DataFrame({"user_id": [u for u, _ in rows],
                         "ts": pd.to_datetime([t for _, t in rows], utc=True),
                         "event": "page_view", "session_id": 1})


GROUPS = pd.Series({"A": "g1", "B": "g1", "C": "g1", "D": "g2", "E": "g2"})  # F: none


def grid(result, group=ALL_USERS, value="retained") -> dict[str, list]:
    part = result.table[result.table["group"] == group]
    out = {}
    for label, rows in part.groupby("cohort_label", sort=True):
        values = rows.sort_values("period")[value].tolist()
        out[label] = [None if pd.isna(v) else v for v in values]
    return out


def test_n_period_retention_by_hand():
    result = retention(events(), max_periods=3)
    # Week 0 (A, B): A back in week 1 and 3, B in week 2. Week 1 (C, D): C in week 2,
    # nobody in week 3, week 4 is after the data. Week 2 (E): E in week 3.
    assert grid(result) == {
        "2024-01-01": [2, 1, 1, 1],
        "2024-01-08": [2, 1, 0, None],
        "2024-01-15": [1, 1, None, None],
        "2024-01-22": [1, None, None, None],
    }
    shares = grid(result, value="share")
    assert shares["2024-01-01"] == [1.0, 0.5, 0.5, 0.5]
    assert shares["2024-01-08"][:3] == [1.0, 0.5, 0.0] and shares["2024-01-08"][3] is None
    sizes = result.table.groupby("cohort_label")["cohort_size"].first().to_dict()
    assert sizes == {"2024-01-01": 2, "2024-01-08": 2, "2024-01-15": 1, "2024-01-22": 1}
    assert str(result.table["retained"].dtype) == "Int64"
    assert result.table["cohort"].iloc[0] == pd.Timestamp("2024-01-01")
    assert result.table["cohort"].dt.day_of_week.eq(0).all()  # Mondays
    assert not result.last_period_complete
    incomplete = next(n for n in result.notices if n.code == "last_period_incomplete")
    assert "2024-01-22" in incomplete.message and "3 of its 7 days" in incomplete.message
    assert "ISO weeks (Monday to Sunday) in UTC" in result.convention
    wide = result.wide()
    assert list(wide.columns) == [0, 1, 2, 3]
    assert wide.loc[("2024-01-08", 2), 1] == 0.5


def test_unbounded_retention_by_hand():
    result = retention(events(), mode="unbounded", max_periods=3)
    # Retained in week k = active in week k or later: last weeks A 3, B 2, C 2, D 1, E 3.
    assert grid(result) == {
        "2024-01-01": [2, 2, 2, 1],
        "2024-01-08": [2, 1, 0, None],
        "2024-01-15": [1, 1, None, None],
        "2024-01-22": [1, None, None, None],
    }


def test_the_time_zone_moves_the_sunday_to_monday_boundary():
    # In New York (UTC-5) A's Monday 00:10 UTC is Sunday 19:10: still week 0, so A is
    # in weeks {0, 3} and nobody of week 0 is back in week 1.
    result = retention(events(), max_periods=3, tz="America/New_York")
    assert grid(result)["2024-01-01"] == [2, 0, 1, 1]
    assert result.tz == "America/New_York"
    assert "America/New_York" in result.convention
    assert str(result.data_end.tz) == "America/New_York"
    with pytest.raises(ConfigError, match="Unknown time zone 'Mars/Base'"):
        retention(events(), tz="Mars/Base")


def test_retention_per_group_and_the_curve():
    result = retention(events(), groups=GROUPS, max_periods=3)
    assert result.groups == ["g1", "g2"]
    assert grid(result, "g1") == {"2024-01-01": [2, 1, 1, 1], "2024-01-08": [1, 1, 0, None]}
    assert grid(result, "g2") == {"2024-01-08": [1, 0, 0, None],
                                  "2024-01-15": [1, 1, None, None]}
    assert any(n.code == "users_without_group" and n.message.startswith("1 users")
               for n in result.notices)
    curve = retention_curve(result)
    g1 = curve[curve["group"] == "g1"].set_index("period")
    # Period 1: (1 + 1) of (2 + 1); period 2: (1 + 0) of 3; period 3: only week 0, 1 of 2.
    assert g1["users"].tolist() == [3, 3, 3, 2]
    assert g1["retained"].tolist() == [3, 2, 1, 1]
    assert g1["cohorts"].tolist() == [2, 2, 2, 1]
    np.testing.assert_allclose(g1["share"], [1, 2 / 3, 1 / 3, 1 / 2])


def test_monthly_cohorts_and_cut_periods():
    rows = [("A", "2024-01-31 23:00"), ("A", "2024-02-01 08:00"), ("B", "2024-02-10 08:00"),
            ("B", "2024-03-05 08:00"), ("A", "2024-03-09 08:00")]
    result = retention(events(rows), period="month", max_periods=1)
    # A: January, February, March (cohort January); B: February, March. Nobody is new in
    # March, so it has no cohort row.
    assert grid(result) == {"2024-01": [1, 1], "2024-02": [1, 1]}
    assert "periods_cut" in [n.code for n in result.notices]
    assert "2024-03" in next(n.message for n in result.notices
                             if n.code == "last_period_incomplete")
    # In Tokyo (UTC+9) A's first event is already 1 February.
    tokyo = retention(events(rows), period="month", tz="Asia/Tokyo")
    assert grid(tokyo) == {"2024-02": [2, 2]}


def test_too_short_data_says_what_to_change():
    one_week = [("A", "2024-01-01 00:00"), ("B", "2024-01-07 23:59")]
    with pytest.raises(ConfigError, match="at least two weeks"):
        retention(events(one_week))
    with pytest.raises(ConfigError, match="at least two weeks"):
        lifecycle(events(one_week))
    one_month = [("A", "2024-01-01 00:00"), ("B", "2024-01-20 00:00")]
    with pytest.raises(ConfigError, match="Choose period = week"):
        retention(events(one_month), period="month")
    # By week it works: cohorts of weeks 0 and 2, three cells each (two of them missing).
    assert grid(retention(events(one_month))) == {"2024-01-01": [1, 0, 0],
                                                  "2024-01-15": [1, None, None]}
    with pytest.raises(ConfigError, match="'week' or 'month'"):
        retention(events(), period="day")
    with pytest.raises(ConfigError, match="n_period"):
        retention(events(), mode="rolling")


def test_lifecycle_by_hand():
    frame = lifecycle(events())
    counts = frame.set_index("period_label")[["new", "returning", "resurrected", "dormant",
                                              "active"]]
    # W1: new C, D; returning A; B dormant. W2: new E; returning C; resurrected B;
    # A, D dormant. W3: new F; returning E; resurrected A; B, C dormant.
    assert counts.to_dict("index") == {
        "2024-01-01": {"new": 2, "returning": 0, "resurrected": 0, "dormant": 0, "active": 2},
        "2024-01-08": {"new": 2, "returning": 1, "resurrected": 0, "dormant": -1, "active": 3},
        "2024-01-15": {"new": 1, "returning": 1, "resurrected": 1, "dormant": -2, "active": 3},
        "2024-01-22": {"new": 1, "returning": 1, "resurrected": 1, "dormant": -2, "active": 3},
    }
    assert frame.attrs["convention"].startswith(LIFECYCLE_CONVENTION)
    codes = [n.code for n in frame.attrs["notices"]]
    assert "last_period_incomplete" in codes and "first_period_all_new" in codes


def test_lifecycle_per_group_has_every_period():
    frame = lifecycle(events(), groups=GROUPS)
    g2 = frame[frame["group"] == "g2"].set_index("period_label")
    # g2 = D (week 1), E (weeks 2, 3).
    assert g2["new"].tolist() == [0, 1, 1, 0]
    assert g2["returning"].tolist() == [0, 0, 0, 1]
    assert g2["dormant"].tolist() == [0, 0, -1, 0]
    g1 = frame[frame["group"] == "g1"].set_index("period_label")
    assert g1["dormant"].tolist() == [0, -1, -1, -2]
    assert len(frame) == 8


# ------------------------------------------------------------------------------ charts


def test_retention_heatmap_text_hover_and_missing_cells():
    result = retention(events(), groups=GROUPS, max_periods=3)
    fig = retention_heatmap(result, "g1")
    heat = fig.data[0]
    assert heat.text[0][0] == "100 %<br>2"
    assert heat.text[0][1] == "50 %<br>1"
    assert heat.text[1][3] == ""  # after the data's end
    assert np.isnan(heat.z[1][3])
    assert heat.customdata[0][1][1] == 1  # retained count in the hover
    assert "Retained %{customdata[1]" in heat.hovertemplate
    pooled = retention_heatmap(result)
    assert pooled.data[0].text[0][0] == "100 %<br>2"
    assert "All users" in pooled.layout.title.text
    with pytest.raises(ConfigError, match="No group 'g9'"):
        retention_heatmap(result, "g9")


def test_chart_text_escapes_names():
    groups = GROUPS.replace({"g1": "<b>VIP</b>"})
    result = retention(events(), groups=groups)
    assert "&lt;b&gt;VIP&lt;/b&gt;" in retention_heatmap(result, "<b>VIP</b>").layout.title.text
    fig = retention_curves(retention_curve(result))
    names = [t.name for t in fig.data]
    assert "&lt;b&gt;VIP&lt;/b&gt;" in names
    assert fig.data[0].y[0] == 1.0
    fig = retention_curves(retention_curve(result), colours={"g2": "#000000"})
    assert fig.data[1].line.color == "#000000"


def test_lifecycle_bars_put_dormant_below_zero():
    fig = lifecycle_bars(lifecycle(events()))
    assert fig.layout.barmode == "relative"
    bars = {t.name: list(t.y) for t in fig.data}
    assert bars["Dormant"] == [0, -1, -2, -2]
    assert bars["New"] == [2, 2, 1, 1]
    g2 = lifecycle_bars(lifecycle(events(), groups=GROUPS), group="g2")
    assert {t.name: list(t.y) for t in g2.data}["Dormant"] == [0, 0, -1, 0]


def test_patterns_chart_shows_group_against_everyone_else():
    rows = []
    for i in range(40):
        user = f"u{i}"
        rows += [(user, 1, 0, "view"), (user, 1, 1, "<cart>" if i < 15 else "leave")]
    log = pd.DataFrame({"user_id": [r[0] for r in rows], "session_id": 1,
                        "ts": pd.Timestamp("2024-01-01", tz="UTC")
                        + pd.to_timedelta([r[2] for r in rows], unit="min"),
                        "event": [r[3] for r in rows]})
    groups = pd.Series({f"u{i}": "A" if i < 20 else "B" for i in range(40)})
    table = distinguishing_patterns(build_sequences(log), groups, min_support=0.1)
    fig = patterns_chart(table, top=2, group="A")
    assert [t.name for t in fig.data] == ["Everyone else", "A"]
    assert fig.data[1].orientation == "h"
    assert "&lt;cart&gt;" in fig.data[1].y[-1]  # the top pattern, escaped
    assert fig.data[1].x[-1] == 15 / 20 and fig.data[0].x[-1] == 0
    assert fig.data[1].text[-1] == "∞×"
    assert len(fig.data[0].y) == 2
    assert patterns_chart(table.iloc[0:0]).layout.title.text == "No distinguishing patterns"
