"""Tests of PII dropping and pseudonymisation (core/data/cleaning.py, core/data/privacy.py) and of
the exports (core/common/export.py).

Expected pseudonyms are computed in the test with the standard library's hmac and
hashlib (HMAC-SHA-256, RFC 2104), independently of core; expected CSV cells follow the
OWASP "CSV injection" rule (prefix a quote to cells starting with = + - @ tab CR).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import ConfigError
from core.common.export import FORMULA_PREFIXES, parquet_bytes, safe_csv_bytes
from core.data.cleaning import LoadConfig, clean_events
from core.data.mapping import ColumnMapping
from core.data.privacy import new_key, pseudonymise

MAPPING = ColumnMapping({"user_id": "user_id", "ts": "ts", "event": "event"})
EVENTS = pd.DataFrame({
    "user_id": ["alice", "bob", "alice"],
    "ts": ["2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z"],
    "event": ["view", "view", "buy"],
    "email": ["alice@example.com", "bob@example.com", "alice@example.com"],
    "device": ["ios", "web", "ios"],
})
PSEUDONYM = re.compile(r"^u_[0-9a-f]{20}$")


def _expected(key: str, user_id: str) -> str:
    digest = hmac.new(key.encode("utf-8"), user_id.encode("utf-8"), hashlib.sha256)
    return "u_" + digest.hexdigest()[:20]


# --- PII -------------------------------------------------------------------------------


def test_pii_column_dropped() -> None:
    result = clean_events(EVENTS, MAPPING, LoadConfig(pii_columns=("email",)))
    assert "email" not in result.events.columns
    assert not result.events.isin(["alice@example.com", "bob@example.com"]).any().any()
    assert result.events["device"].tolist() == ["ios", "ios", "web"]  # others are kept
    assert result.report.pii_columns_dropped == ["email"]
    assert "email" not in result.report.missing_by_column


def test_pii_column_kept_when_not_marked() -> None:
    result = clean_events(EVENTS, MAPPING)
    assert result.events["email"].tolist() == ["alice@example.com", "alice@example.com",
                                               "bob@example.com"]
    assert result.report.pii_columns_dropped == []


def test_mapped_column_marked_as_pii_refused() -> None:
    with pytest.raises(ConfigError) as info:
        clean_events(EVENTS, MAPPING.with_role("category", "device"),
                     LoadConfig(pii_columns=("device",)))
    message = str(info.value)
    assert "'device' is marked as PII but is mapped to a role" in message  # the problem
    assert "Unmap it" in message  # the fix


def test_unknown_pii_column_refused() -> None:
    with pytest.raises(ConfigError, match="phone"):
        clean_events(EVENTS, MAPPING, LoadConfig(pii_columns=("phone",)))


def test_user_id_column_marked_as_pii_never_leaks() -> None:
    # The user id column is a mapped column too: marking it as PII must either be
    # refused or leave no raw id in the output; it must never keep the raw ids while
    # the report says the column was dropped.
    frame = EVENTS.rename(columns={"user_id": "login"})
    mapping = ColumnMapping({"user_id": "login", "ts": "ts", "event": "event"})
    try:
        result = clean_events(frame, mapping, LoadConfig(pii_columns=("login",)))
    except ConfigError as exc:
        assert "login" in str(exc)
        return
    assert not result.events.isin(["alice", "bob"]).any().any()


# --- pseudonyms ------------------------------------------------------------------------


def test_pseudonymise_matches_hmac_sha256() -> None:
    key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    result = clean_events(EVENTS, MAPPING, LoadConfig(pseudonymise=True), pseudonym_key=key)
    ids = set(result.events["user_id"])
    assert ids == {_expected(key, "alice"), _expected(key, "bob")}
    assert all(PSEUDONYM.match(u) for u in ids)
    assert result.pseudonym_key == key
    assert result.report.pseudonymised is True
    # rows stay with their user: alice's pseudonym has her two events
    alice = result.events[result.events["user_id"] == _expected(key, "alice")]
    assert sorted(alice["event"]) == ["buy", "view"]
    assert result.report.users == 2


def test_same_key_same_pseudonyms_other_key_other_pseudonyms() -> None:
    config = LoadConfig(pseudonymise=True)
    first = clean_events(EVENTS, MAPPING, config, pseudonym_key="k1")
    again = clean_events(EVENTS, MAPPING, config, pseudonym_key="k1")
    other = clean_events(EVENTS, MAPPING, config, pseudonym_key="k2")
    assert set(first.events["user_id"]) == set(again.events["user_id"])
    assert not set(first.events["user_id"]) & set(other.events["user_id"])


def test_new_key_made_when_none_given() -> None:
    result = clean_events(EVENTS, MAPPING, LoadConfig(pseudonymise=True))
    assert re.fullmatch(r"[0-9a-f]{64}", result.pseudonym_key or "")
    assert set(result.events["user_id"]) == {_expected(result.pseudonym_key, "alice"),
                                             _expected(result.pseudonym_key, "bob")}
    assert new_key() != new_key()


def test_no_pseudonyms_by_default() -> None:
    result = clean_events(EVENTS, MAPPING)
    assert result.pseudonym_key is None
    assert result.report.pseudonymised is False
    assert set(result.events["user_id"]) == {"alice", "bob"}


def test_pseudonymise_function() -> None:
    out = pseudonymise(["alice", "bob", "00123"], "secret")
    assert out == {u: _expected("secret", u) for u in ("alice", "bob", "00123")}
    # a published vector: HMAC-SHA-256 with key "key" of "The quick brown fox jumps
    # over the lazy dog" is f7bc83f430538424b13298e6aa6fb143ef4d59a1... (Wikipedia, HMAC)
    fox = pseudonymise(["The quick brown fox jumps over the lazy dog"], "key")
    assert list(fox.values()) == ["u_f7bc83f430538424b132"]


# --- CSV export ------------------------------------------------------------------------


def test_safe_csv_neutralises_formula_cells() -> None:
    frame = pd.DataFrame({
        "text": ["=SUM(A1:A9)", "+1", "-2", "@cmd", "\tx", "plain", "a=b", "", "'q"],
        "number": [-5, 3, 0, -1, 2, 1, 4, 5, 6],
        "ratio": [-0.5, 1.5, 0.0, 2.0, -3.25, 0.1, 9.0, 8.0, 7.0],
    })
    data = safe_csv_bytes(frame, index=False)
    back = pd.read_csv(io.BytesIO(data), dtype={"text": str}, keep_default_na=False)
    assert back["text"].tolist() == ["'=SUM(A1:A9)", "'+1", "'-2", "'@cmd", "'\tx",
                                     "plain", "a=b", "", "'q"]
    assert back["number"].tolist() == [-5, 3, 0, -1, 2, 1, 4, 5, 6]  # numbers untouched
    assert back["ratio"].tolist() == [-0.5, 1.5, 0.0, 2.0, -3.25, 0.1, 9.0, 8.0, 7.0]
    assert frame["text"].iloc[0] == "=SUM(A1:A9)"  # input not mutated
    assert data.startswith(b"text,number,ratio")


def test_safe_csv_carriage_return_cells() -> None:
    # A cell starting with CR is neutralised like the others, and a CR inside a cell
    # must stay inside its (quoted) cell: csv readers and spreadsheets end a row at a
    # bare CR.
    frame = pd.DataFrame({"text": ["\ry", "a\rb", "ok"], "n": [1, 2, 3]})
    data = safe_csv_bytes(frame, index=False)
    back = pd.read_csv(io.BytesIO(data), dtype={"text": str})
    assert back["text"].tolist() == ["'\ry", "a\rb", "ok"]
    assert back["n"].tolist() == [1, 2, 3]


def test_safe_csv_neutralises_header_and_index() -> None:
    frame = pd.DataFrame({"=cmd": ["x"]}, index=pd.Index(["@u1"], name="-id"))
    back = pd.read_csv(io.BytesIO(safe_csv_bytes(frame)), dtype=str)
    assert list(back.columns) == ["'-id", "'=cmd"]
    assert back.iloc[0].tolist() == ["'@u1", "x"]


def test_safe_csv_round_trips_ordinary_frames() -> None:
    frame = pd.DataFrame({"user_id": ["007", "u 2", "ü,3"], "n": [1, 2, 3],
                          "x": [1.5, -2.0, 0.25]}, index=pd.Index(["a", "b", "c"], name="k"))
    back = pd.read_csv(io.BytesIO(safe_csv_bytes(frame)), index_col="k",
                       dtype={"user_id": str})
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


@settings(max_examples=50, deadline=None, database=None, derandomize=True)
@given(cells=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                     blacklist_characters="\x00"),
                              min_size=1, max_size=8), min_size=1, max_size=6))
def test_safe_csv_property(cells: list[str]) -> None:
    frame = pd.DataFrame({"cell": cells})
    back = pd.read_csv(io.BytesIO(safe_csv_bytes(frame, index=False)), dtype=str,
                       keep_default_na=False, skip_blank_lines=False)
    expected = ["'" + c if c.startswith(FORMULA_PREFIXES) else c for c in cells]
    assert back["cell"].tolist() == expected


def test_parquet_bytes_round_trip() -> None:
    frame = pd.DataFrame({"user_id": ["007", "=x"], "n": [1, -2]})
    back = pd.read_parquet(io.BytesIO(parquet_bytes(frame, index=False)))
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert back["user_id"].tolist() == ["007", "=x"]  # Parquet is not a spreadsheet
