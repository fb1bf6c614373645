"""Tests of raw rows -> canonical events (core/data/cleaning.py) and sessions
(core/data/sessions.py).

All frames are built by hand; the expected counts, instants and session numbers in
each test are worked out by hand from the rows (see the comments next to them).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.common.errors import ConfigError, DataError, PersonaLensError
from core.data.cleaning import DROP_REASONS, LoadConfig, clean_events
from core.data.mapping import ColumnMapping
from core.data.readers import read_bytes
from core.data.sessions import sessionize

MAPPING = ColumnMapping({"user_id": "user_id", "ts": "ts", "event": "event"})
# 2024-03-01 00:00:00 UTC is 1_709_251_200 s after the epoch (19_783 days * 86_400 s);
# noon adds 43_200 s.
NOON = pd.Timestamp("2024-03-01 12:00:00", tz="UTC")
NOON_EPOCH_S = 1_709_294_400


def _frame(rows: list[tuple], columns: tuple[str, ...] = ("user_id", "ts", "event")
           ) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def _codes(result) -> list[str]:
    return [n.code for n in result.report.notices]


def _notice(result, code: str) -> str:
    matches = [n.message for n in result.report.notices if n.code == code]
    assert len(matches) == 1, _codes(result)
    return matches[0]


def _assert_counts_add_up(report) -> None:
    assert set(report.dropped) == set(DROP_REASONS)
    assert report.rows_read == report.rows_kept + sum(report.dropped.values())


# --- timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01T12:00:00Z",
        "2024-03-01T14:00:00+02:00",  # 14:00 at +02:00 is 12:00 UTC
        "2024-03-01T07:00:00-05:00",  # 07:00 at -05:00 is 12:00 UTC
        "2024-03-01T12:00:00",  # no zone: taken as UTC
        "2024-03-01 12:00:00",
        NOON_EPOCH_S,  # epoch seconds
        NOON_EPOCH_S * 1_000,  # epoch milliseconds
        NOON_EPOCH_S * 1_000_000,  # epoch microseconds (GA4 event_timestamp)
        float(NOON_EPOCH_S * 1_000),  # milliseconds in a float column
        str(NOON_EPOCH_S),  # epoch as text
        str(NOON_EPOCH_S * 1_000),
    ],
)
def test_timestamp_layouts_land_on_the_same_instant(value) -> None:
    frame = pd.DataFrame({"user_id": ["u1"], "ts": [value], "event": ["view"]})
    result = clean_events(frame, MAPPING)
    assert result.events["ts"].tolist() == [NOON]
    assert str(result.events["ts"].dtype).endswith("UTC]")
    assert result.report.first_ts == "2024-03-01T12:00:00Z"


@pytest.mark.parametrize(
    ("value", "description"),
    [(NOON_EPOCH_S, "epoch seconds"), (NOON_EPOCH_S * 1_000, "epoch milliseconds"),
     (NOON_EPOCH_S * 1_000_000, "epoch microseconds")],
)
def test_epoch_unit_reported(value: int, description: str) -> None:
    frame = pd.DataFrame({"user_id": ["u1"], "ts": [value], "event": ["view"]})
    assert clean_events(frame, MAPPING).report.timestamp_format.startswith(description)


def test_native_datetimes() -> None:
    # naive date-times are taken as UTC
    frame = pd.DataFrame({"user_id": ["u1", "u2"],
                          "ts": [pd.Timestamp("2024-03-01 12:00:00")] * 2,
                          "event": ["view", "view"]})
    assert clean_events(frame, MAPPING).events["ts"].tolist() == [NOON, NOON]
    # 13:00 in Berlin on 1 March (CET, +01:00) is 12:00 UTC
    aware = frame.assign(ts=pd.Series([pd.Timestamp("2024-03-01 13:00", tz="Europe/Berlin")] * 2))
    assert clean_events(aware, MAPPING).events["ts"].tolist() == [NOON, NOON]


def test_mixed_text_layouts_in_one_column() -> None:
    values = ["2024-03-01T12:00:00Z", "2024-03-01 12:00:00", "1 March 2024 12:00",
              "2024-03-01T13:00:00+01:00", "Fri, 01 Mar 2024 12:00:00 GMT"]
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(5)], "ts": values,
                          "event": ["view"] * 5})
    result = clean_events(frame, MAPPING)
    assert result.events["ts"].tolist() == [NOON] * 5
    assert result.report.dropped["unparseable_timestamp"] == 0


def test_epoch_text_column_from_csv() -> None:
    data = (
        "user_id,ts,event\n"
        f"u1,{NOON_EPOCH_S * 1000},view\n"
        f"u1,{(NOON_EPOCH_S + 90) * 1000},click\n"  # 90 s later
    ).encode()
    table = read_bytes(data, "ms.csv")
    assert table.frame["ts"].tolist() == ["1709294400000", "1709294490000"]
    result = clean_events(table.frame, MAPPING)
    assert result.events["ts"].tolist() == [NOON, NOON + pd.Timedelta(seconds=90)]
    assert result.report.timestamp_format.startswith("epoch milliseconds")


def test_iso_text_column_from_csv() -> None:
    data = b"user_id,ts,event\nu1,2024-03-01T14:00:00+02:00,view\nu2,2024-03-01T12:00:00Z,view\n"
    result = clean_events(read_bytes(data, "iso.csv").frame, MAPPING)
    assert result.events["ts"].tolist() == [NOON, NOON]


def test_all_timestamps_unparseable() -> None:
    frame = _frame([("u1", "yesterday", "view"), ("u2", "soon", "view"),
                    ("u3", "n/a", "view")])
    with pytest.raises(DataError) as info:
        clean_events(frame, MAPPING)
    message = str(info.value)
    assert "None of the 3 rows could be used" in message  # the problem
    assert "timestamp not understood: 3" in message  # the reason, counted
    assert "Check the column mapping" in message  # the fix


def test_partly_unparseable_timestamps_dropped_and_counted() -> None:
    frame = _frame([("u1", "2024-03-01T12:00:00Z", "view"), ("u1", "yesterday", "click"),
                    ("u2", "2024-03-01T12:00:00Z", "view")])
    result = clean_events(frame, MAPPING)
    assert result.report.rows_kept == 2
    assert result.report.dropped["unparseable_timestamp"] == 1
    message = _notice(result, "unparseable_timestamp")
    assert "1 timestamp(s) in column 'ts' were not understood" in message
    assert "'yesterday'" in message  # an example is quoted
    assert "ISO 8601" in message  # the fix
    _assert_counts_add_up(result.report)


def test_partly_unparseable_epoch_text() -> None:
    # One text value among 200 epoch seconds: 199/200 = 99.5 % are numbers, so the column
    # is read as epoch seconds and the odd value is dropped as not understood.
    stamps = [str(NOON_EPOCH_S + 60 * i) for i in range(199)] + ["soon"]
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(200)], "ts": stamps,
                          "event": ["view"] * 200})
    result = clean_events(frame, MAPPING)
    assert result.report.rows_kept == 199
    assert result.report.dropped["unparseable_timestamp"] == 1
    assert "'soon'" in _notice(result, "unparseable_timestamp")


# --- small and degenerate data ---------------------------------------------------------


def test_single_event() -> None:
    result = clean_events(_frame([("u1", "2024-03-01T12:00:00Z", "view")]), MAPPING)
    report = result.report
    assert (report.rows_read, report.rows_kept, report.users, report.sessions) == (1, 1, 1, 1)
    assert report.first_ts == report.last_ts == "2024-03-01T12:00:00Z"
    assert set(_codes(result)) == {"single_user", "single_instant"}
    assert report.top_events == [("view", 1)]
    assert report.events_per_day == [("2024-03-01", 1)]


def test_single_user() -> None:
    frame = _frame([("u1", "2024-03-01T12:00:00Z", "view"),
                    ("u1", "2024-03-02T12:00:00Z", "view")])
    result = clean_events(frame, MAPPING)
    assert _codes(result) == ["single_user"]
    assert result.report.events_per_day == [("2024-03-01", 1), ("2024-03-02", 1)]


def test_single_event_name_many_users() -> None:
    frame = _frame([(f"u{i}", f"2024-03-0{i + 1}T12:00:00Z", "view") for i in range(3)])
    result = clean_events(frame, MAPPING)
    assert result.report.top_events == [("view", 3)]
    assert _codes(result) == []


def test_all_events_at_the_same_instant() -> None:
    frame = _frame([(u, "2024-03-01T12:00:00Z", e) for u in ("u1", "u2") for e in ("a", "b")])
    result = clean_events(frame, MAPPING)
    assert result.report.rows_kept == 4
    assert _codes(result) == ["single_instant"]
    assert "same instant" in _notice(result, "single_instant")


# --- revenue ---------------------------------------------------------------------------


def test_revenue_notices() -> None:
    frame = _frame(
        [("u1", "2024-03-01T12:00:00Z", "buy", "10.5"),
         ("u2", "2024-03-01T12:00:00Z", "buy", "-3"),
         ("u3", "2024-03-01T12:00:00Z", "buy", "abc"),
         ("u4", "2024-03-01T12:00:00Z", "buy", "€5"),
         ("u5", "2024-03-01T12:00:00Z", "buy", None)],
        ("user_id", "ts", "event", "amount"))
    result = clean_events(frame, MAPPING.with_role("revenue", "amount"))
    assert result.report.rows_kept == 5  # every row is kept
    revenue = dict(zip(result.events["user_id"], result.events["revenue"], strict=True))
    assert revenue["u1"] == 10.5
    assert revenue["u2"] == -3.0
    assert all(math.isnan(revenue[u]) for u in ("u3", "u4", "u5"))

    not_numeric = _notice(result, "revenue_not_numeric")
    assert "2 value(s) of revenue column 'amount' are not numbers" in not_numeric
    assert "'abc'" in not_numeric and "'€5'" in not_numeric  # the examples
    assert "kept with the value missing" in not_numeric
    negative = _notice(result, "negative_revenue")
    assert negative.startswith("1 row(s) have negative revenue")
    assert "kept" in negative


# --- counting --------------------------------------------------------------------------

COUNT_ROWS = [
    ("u1", "2024-03-01T10:00:00Z", "view", "true"),  # kept
    ("u1", "2024-03-01T10:00:00Z", "view", "true"),  # exact duplicate
    ("u1", "2024-03-01T10:00:00.5Z", "view", "true"),  # debounced (0.5 s after)
    (None, "2024-03-01T10:00:00Z", "view", "true"),  # missing user id
    ("", "2024-03-01T10:00:00Z", "view", "true"),  # missing user id (blank)
    (None, "2024-03-01T10:00:00Z", None, "true"),  # missing user id (counted once)
    ("u2", "2024-03-01T10:00:00Z", None, "true"),  # missing event
    ("u2", None, "click", "true"),  # missing timestamp
    ("u2", "", "click", "true"),  # missing timestamp (blank)
    ("u2", "not a date", "click", "true"),  # unparseable timestamp
    ("u2", "2024-03-01T11:00:00Z", "click", "true"),  # kept
    ("u3", "2024-03-01T12:00:00Z", "view", "false"),  # no consent
    ("u3", "2024-03-01T12:05:00Z", "click", "false"),  # no consent
]


def test_every_drop_reason_counted_once() -> None:
    frame = _frame(COUNT_ROWS, ("user_id", "ts", "event", "consent"))
    result = clean_events(frame, MAPPING.with_role("consent", "consent"))
    report = result.report
    assert report.rows_read == 13
    assert report.rows_kept == 2
    assert report.dropped == {
        "missing_user_id": 3, "missing_event": 1, "missing_timestamp": 2,
        "unparseable_timestamp": 1, "exact_duplicate": 1, "debounced": 1, "no_consent": 2,
        "not_sampled": 0, "suspected_bot": 0,
    }
    assert report.users_without_consent == 1
    assert result.events[["user_id", "event"]].values.tolist() == [["u1", "view"],
                                                                  ["u2", "click"]]
    _assert_counts_add_up(report)


@pytest.mark.parametrize(
    ("config", "kept", "dropped"),
    [
        # the duplicate is 0 s after the first row, so the debounce takes it
        (LoadConfig(drop_exact_duplicates=False), 4,
         {"missing_user_id": 3, "missing_event": 1, "missing_timestamp": 2,
          "unparseable_timestamp": 1, "debounced": 2}),
        # nothing is removed beyond the invalid rows: 13 - 7 = 6
        (LoadConfig(drop_exact_duplicates=False, debounce_seconds=0), 6,
         {"missing_user_id": 3, "missing_event": 1, "missing_timestamp": 2,
          "unparseable_timestamp": 1}),
        (LoadConfig(debounce_seconds=0), 5,
         {"missing_user_id": 3, "missing_event": 1, "missing_timestamp": 2,
          "unparseable_timestamp": 1, "exact_duplicate": 1}),
    ],
)
def test_counts_add_up_without_consent(config: LoadConfig, kept: int,
                                       dropped: dict[str, int]) -> None:
    frame = _frame([r[:3] for r in COUNT_ROWS])
    report = clean_events(frame, MAPPING, config).report
    assert report.rows_read == 13
    assert report.rows_kept == kept
    assert report.dropped == dict.fromkeys(DROP_REASONS, 0) | dropped
    _assert_counts_add_up(report)


def test_input_frame_not_mutated() -> None:
    frame = _frame(COUNT_ROWS, ("user_id", "ts", "event", "consent"))
    before = frame.copy()
    clean_events(frame, MAPPING.with_role("consent", "consent"))
    pd.testing.assert_frame_equal(frame, before)


def test_progress_reported_up_to_one() -> None:
    calls: list[tuple[float, str]] = []
    clean_events(_frame([("u1", "2024-03-01T12:00:00Z", "view")]), MAPPING,
                 progress=lambda f, m: calls.append((f, m)))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0


def test_parquet_path_source(tmp_path) -> None:
    path = tmp_path / "events.parquet"
    _frame([("u1", "2024-03-01T12:00:00Z", "view"),
            ("u2", "2024-03-01T12:00:00Z", "view")]).to_parquet(path)
    result = clean_events(path, MAPPING, source_name="events.parquet")
    assert result.events["ts"].tolist() == [NOON, NOON]
    assert result.report.source == "events.parquet"


# --- debounce --------------------------------------------------------------------------

DEBOUNCE_ROWS = [
    ("u1", "2024-03-01T10:00:00.000Z", "view"),  # kept
    ("u1", "2024-03-01T10:00:00.400Z", "view"),  # 0.4 s after u1's view: debounced
    ("u1", "2024-03-01T10:00:00.500Z", "click"),  # another event: kept
    ("u1", "2024-03-01T10:00:05.000Z", "view"),  # 4.6 s later: kept
    ("u2", "2024-03-01T10:00:00.200Z", "view"),  # another user: kept
    ("u3", "2024-03-01T10:00:00.000Z", "view"),  # kept
    ("u3", "2024-03-01T10:00:01.500Z", "view"),  # 1.5 s later, after a 1 s window: kept
    ("u4", "2024-03-01T10:00:00.000Z", "view"),  # kept
    ("u4", "2024-03-01T10:00:00.300Z", "click"),  # another event: kept
    ("u4", "2024-03-01T10:00:00.600Z", "view"),  # 0.6 s after u4's previous view: debounced
]


@pytest.mark.parametrize(
    ("seconds", "debounced", "kept_u3"),
    # 1 s: u1's and u4's repeated views; 2 s: also u3's second view; 0: nothing
    [(1.0, 2, 2), (2.0, 3, 1), (0, 0, 2)],
)
def test_debounce(seconds: float, debounced: int, kept_u3: int) -> None:
    result = clean_events(_frame(DEBOUNCE_ROWS), MAPPING,
                          LoadConfig(debounce_seconds=seconds))
    assert result.report.dropped["debounced"] == debounced
    assert result.report.rows_kept == 10 - debounced
    events = result.events
    u1 = events[events["user_id"] == "u1"]
    expected_u1 = ["view", "click", "view"] if seconds else ["view", "view", "click", "view"]
    assert u1["event"].tolist() == expected_u1
    assert (events["user_id"] == "u3").sum() == kept_u3
    assert (events["user_id"] == "u2").sum() == 1
    u4 = events[events["user_id"] == "u4"]
    assert u4["event"].tolist() == (["view", "click"] if seconds else ["view", "click", "view"])


def test_negative_debounce_refused() -> None:
    with pytest.raises(ConfigError, match="cannot be negative"):
        clean_events(_frame(DEBOUNCE_ROWS), MAPPING, LoadConfig(debounce_seconds=-1))


# --- consent ---------------------------------------------------------------------------


def test_consent() -> None:
    rows = [
        ("u1", "2024-03-01T10:00:00Z", "view", "true"),
        ("u1", "2024-03-01T11:00:00Z", "click", "false"),  # latest is false: dropped
        ("u2", "2024-03-01T10:00:00Z", "view", "false"),
        ("u2", "2024-03-01T11:00:00Z", "click", "yes"),  # latest is true: kept
        ("u3", "2024-03-01T10:00:00Z", "view", None),
        ("u3", "2024-03-01T11:00:00Z", "click", ""),  # no consent value at all: dropped
        ("u4", "2024-03-01T10:00:00Z", "view", "1"),
        ("u4", "2024-03-01T11:00:00Z", "click", None),  # latest non-missing is true: kept
    ]
    result = clean_events(_frame(rows, ("user_id", "ts", "event", "consent")),
                          MAPPING.with_role("consent", "consent"))
    assert sorted(set(result.events["user_id"])) == ["u2", "u4"]
    assert result.report.dropped["no_consent"] == 4
    assert result.report.users_without_consent == 2
    assert result.report.rows_kept == 4
    _assert_counts_add_up(result.report)


def test_nobody_consented() -> None:
    rows = [("u1", "2024-03-01T10:00:00Z", "view", "no")]
    with pytest.raises(DataError, match="user has not consented: 1"):
        clean_events(_frame(rows, ("user_id", "ts", "event", "consent")),
                     MAPPING.with_role("consent", "consent"))


@pytest.mark.parametrize(
    "withdrawal",
    [
        # the withdrawal is a repeat of the view 0.5 s later (debounced)
        ("u1", "2024-03-01T10:00:00.5Z", "view", "false"),
        # the withdrawal is on a row without an event name (dropped as missing event)
        ("u1", "2024-03-01T11:00:00Z", None, "false"),
    ],
)
def test_latest_consent_counts_even_on_rows_dropped_for_other_reasons(withdrawal) -> None:
    # u1's latest non-missing consent value is false, so u1 must not be kept, whatever
    # else is wrong with the row that carries it.
    rows = [("u1", "2024-03-01T10:00:00Z", "view", "true"), withdrawal,
            ("u2", "2024-03-01T10:00:00Z", "view", "true")]
    result = clean_events(_frame(rows, ("user_id", "ts", "event", "consent")),
                          MAPPING.with_role("consent", "consent"))
    assert result.events["user_id"].tolist() == ["u2"]
    assert result.report.users_without_consent == 1
    _assert_counts_add_up(result.report)


# --- extra columns ---------------------------------------------------------------------


# Names of helper columns that the cleaning SQL has used; a file may have any of them.
@pytest.mark.parametrize("name", ["device", "r", "repeat", "new_session", "gap_session",
                                  "row_hash", "repeat_reason", "drop_reason", "pseudonym"])
def test_extra_columns_kept_whatever_their_name(name: str) -> None:
    frame = pd.DataFrame({"user_id": ["u1", "u1"],
                          "ts": ["2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z"],
                          "event": ["view", "view"], name: ["x", "y"]})
    result = clean_events(frame, MAPPING)
    assert result.events[name].tolist() == ["x", "y"]
    assert result.events["session_id"].tolist() == [1, 2]  # 60 min apart


def test_extra_column_with_a_reserved_name_renamed() -> None:
    frame = pd.DataFrame({"uid": ["u1"], "ts": ["2024-03-01T10:00:00Z"], "event": ["view"],
                          "session_id": ["s9"]})
    result = clean_events(frame, ColumnMapping({"user_id": "uid", "ts": "ts", "event": "event"}))
    assert result.events["session_id_original"].tolist() == ["s9"]
    assert result.events["session_id"].tolist() == [1]


# --- sessions --------------------------------------------------------------------------

SESSION_ROWS = [
    ("u1", "2024-03-01T10:00:00Z", "a"),
    ("u1", "2024-03-01T10:29:00Z", "b"),  # 29 min after: same session
    ("u1", "2024-03-01T11:00:00Z", "c"),  # 31 min after: new session
    ("u2", "2024-03-01T10:00:00Z", "a"),
]


def test_sessions_by_30_minute_gap() -> None:
    result = clean_events(_frame(SESSION_ROWS), MAPPING)
    assert result.events["session_id"].tolist() == [1, 1, 2, 1]
    assert result.report.sessions == 3
    assert "30-minute inactivity gap" in result.report.session_source


def test_sessions_with_a_longer_gap() -> None:
    result = clean_events(_frame(SESSION_ROWS), MAPPING, LoadConfig(session_gap_minutes=60))
    assert result.events["session_id"].tolist() == [1, 1, 1, 1]
    assert result.report.sessions == 2


def test_file_session_id_used_when_mapped() -> None:
    rows = [
        ("u1", "2024-03-01T10:00:00Z", "a", "S1"),
        ("u1", "2024-03-01T12:00:00Z", "b", "S1"),  # 2 h later but the file says S1
        ("u1", "2024-03-01T12:10:00Z", "c", None),  # no id: gap-based, 2nd gap session
        ("u2", "2024-03-01T10:00:00Z", "a", "S2"),
    ]
    result = clean_events(_frame(rows, ("user_id", "ts", "event", "sid")),
                          MAPPING.with_role("session_id", "sid"))
    assert result.events["session_id"].tolist() == ["S1", "S1", "gap-2", "S2"]
    assert result.report.sessions == 3
    assert "session id column of the file" in result.report.session_source


def test_sessionize_function() -> None:
    events = _frame(SESSION_ROWS).assign(ts=lambda f: pd.to_datetime(f["ts"], utc=True))
    out = sessionize(events)
    assert out["session_id"].tolist() == [1, 1, 2, 1]
    assert list(out.columns) == ["user_id", "ts", "event", "session_id"]
    assert "session_id" not in events.columns  # input not mutated
    assert sessionize(events, gap_minutes=60)["session_id"].tolist() == [1, 1, 1, 1]
    with_file = events.assign(session_id=["x", "x", "x", "y"])
    assert sessionize(with_file)["session_id"].tolist() == ["x", "x", "x", "y"]
    recomputed = sessionize(with_file, use_file_sessions=False)
    assert recomputed["session_id"].tolist() == [1, 1, 2, 1]


@pytest.mark.parametrize("gap", [0, -5])
def test_session_gap_must_be_positive(gap: float) -> None:
    with pytest.raises(ConfigError, match="positive number of minutes"):
        clean_events(_frame(SESSION_ROWS), MAPPING, LoadConfig(session_gap_minutes=gap))


# --- property: any input is either refused with a message or counted -------------------

USER_IDS = st.one_of(st.none(), st.just(""), st.just("  "),
                     st.sampled_from(["u1", "u2", "007"]), st.text(max_size=6))
EVENTS = st.one_of(st.none(), st.just(""), st.sampled_from(["view", "click"]),
                   st.text(max_size=6))
INSTANTS = st.datetimes(min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
                        max_value=pd.Timestamp("2030-12-31").to_pydatetime())


@st.composite
def raw_frames(draw) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=12))
    instants = draw(st.lists(st.one_of(st.none(), INSTANTS), min_size=n, max_size=n))
    as_text = draw(st.booleans())
    if as_text:
        ts = [None if t is None else draw(st.sampled_from(
            [t.isoformat(), t.isoformat() + "Z", t.strftime("%Y-%m-%d %H:%M:%S"),
             "not a date"])) for t in instants]
    else:
        ts = pd.Series(instants, dtype="datetime64[us]")
    return pd.DataFrame({
        "user_id": draw(st.lists(USER_IDS, min_size=n, max_size=n)),
        "ts": ts,
        "event": draw(st.lists(EVENTS, min_size=n, max_size=n)),
    })


@settings(max_examples=50, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(frame=raw_frames(), debounce=st.sampled_from([0, 1.0, 3600.0]),
       dedupe=st.booleans())
def test_any_frame_is_refused_or_counted(frame: pd.DataFrame, debounce: float,
                                         dedupe: bool) -> None:
    config = LoadConfig(debounce_seconds=debounce, drop_exact_duplicates=dedupe)
    try:
        result = clean_events(frame, MAPPING, config)
    except PersonaLensError:
        return
    report = result.report
    events = result.events
    assert report.rows_read == len(frame)
    _assert_counts_add_up(report)
    assert report.rows_kept == len(events)
    assert not events[["user_id", "ts", "event"]].isna().any().any()
    assert (events["user_id"].str.strip() != "").all()
    assert all(g.is_monotonic_increasing for _, g in events.groupby("user_id")["ts"])


def test_user_sample_keeps_whole_users_and_counts_the_rest() -> None:
    rows = [(f"u{u}", f"2024-03-01T{10 + e:02d}:00:00Z", "view") for u in range(400)
            for e in range(3)]
    frame = _frame(rows)
    full = clean_events(frame, MAPPING)
    half = clean_events(frame, MAPPING, LoadConfig(user_sample_share=0.5))
    again = clean_events(frame, MAPPING, LoadConfig(user_sample_share=0.5))
    users = half.events.groupby("user_id").size()
    assert (users == 3).all()  # all or none of a user's events
    assert 150 < len(users) < 250  # about half of 400
    assert half.report.dropped["not_sampled"] == 1200 - len(half.events)
    assert half.report.rows_read == half.report.rows_kept + sum(half.report.dropped.values())
    assert list(half.events["user_id"]) == list(again.events["user_id"])  # same sample
    assert full.report.dropped["not_sampled"] == 0
    with pytest.raises(ConfigError, match="share of users"):
        clean_events(frame, MAPPING, LoadConfig(user_sample_share=0))
