"""Sequential patterns: hand-built logs, PrefixSpan against brute force, the guards, the
group comparison against statsmodels/scipy, and the pattern feature."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from core.common.errors import ConfigError, DataError
from core.journeys.sequences import (
    MIN_GROUP_SIZE,
    build_sequences,
    distinguishing_patterns,
    frequent_patterns,
    pattern_definition,
    pattern_feature,
    pattern_feature_name,
)

T0 = pd.Timestamp("2024-03-04 10:00", tz="UTC")


def log(rows: list[tuple[str, int, int, str]]) -> pd.DataFrame:
    """Events from (user, session, minute, event) rows, in the given (file) order."""
    return pd.DataFrame({
        "user_id": [r[0] for r in rows],
        "session_id": [r[1] for r in rows],
        "ts": [T0 + pd.Timedelta(minutes=r[2]) for r in rows],
        "event": [r[3] for r in rows],
    })


def supports(result) -> dict[tuple[str, ...], int]:
    return dict(zip(result.table["events"], result.table["sequences"], strict=True))


# The hand-built log. Rows are not in time order; u1's session 2 has a tie (b, then a in
# the file at the same minute); u1's session 1 repeats a.
HAND = log([
    ("u1", 1, 3, "c"),
    ("u1", 1, 0, "a"),
    ("u1", 1, 1, "a"),
    ("u1", 1, 2, "b"),
    ("u1", 2, 60, "b"),
    ("u1", 2, 60, "a"),
    ("u2", 1, 0, "a"),
    ("u2", 1, 1, "c"),
    ("u2", 1, 2, "b"),
    ("u3", 1, 0, "c"),
])


def test_sequences_are_in_time_order_with_ties_in_file_order_and_repeats_collapsed():
    seqs = build_sequences(HAND)
    assert [seqs.sequence(i) for i in range(seqs.n_sequences)] == [
        ["a", "b", "c"], ["b", "a"], ["a", "c", "b"], ["c"]]
    assert list(seqs.user_ids) == ["u1", "u1", "u2", "u3"]
    assert list(seqs.session_ids) == [1, 2, 1, 1]
    kept = build_sequences(HAND, collapse_repeats=False)
    assert kept.sequence(0) == ["a", "a", "b", "c"]
    whole = build_sequences(HAND, unit="user")
    assert whole.sequence(0) == ["a", "b", "c", "b", "a"]
    assert whole.n_sequences == 3


def test_frequent_patterns_of_the_hand_built_log():
    # Sequences: abc, ba, acb, c. With support >= 2 of 4:
    # a, b, c in three each; a→b (abc, acb) and a→c (abc, acb) in two; b→a, b→c, c→b
    # in one; no triple in two.
    result = frequent_patterns(build_sequences(HAND), min_support=2, max_length=3)
    assert supports(result) == {("a",): 3, ("b",): 3, ("c",): 3, ("a", "b"): 2,
                                ("a", "c"): 2}
    assert result.table["share"].tolist()[:3] == [0.75, 0.75, 0.75]
    assert result.table.loc[result.table["events"] == ("a", "b"), "pattern"].item() == "a → b"
    # A share is rounded up to a count: 0.5 of 4 = 2 sequences.
    assert supports(frequent_patterns(build_sequences(HAND), min_support=0.5,
                                      max_length=3)) == supports(result)
    # Tie order matters: in session 2 b comes first, so b→a is there and a→b is not.
    everything = supports(frequent_patterns(build_sequences(HAND), min_support=1))
    assert everything[("b", "a")] == 1
    assert everything[("a", "b", "c")] == 1 and everything[("a", "c", "b")] == 1
    assert ("a", "a") not in everything  # collapsed


def test_gaps_on_the_hand_built_log():
    seqs = build_sequences(HAND)
    # Contiguous: a→b only in abc (in acb, c is between); a→c only in acb.
    contiguous = supports(frequent_patterns(seqs, min_support=1, max_gap=0))
    assert contiguous[("a", "b")] == 1 and contiguous[("a", "c")] == 1
    assert ("a", "b", "c") in contiguous and ("a", "c", "b") in contiguous
    one_between = supports(frequent_patterns(seqs, min_support=1, max_gap=1))
    assert one_between[("a", "b")] == 2 and one_between[("a", "c")] == 2
    # Repeats kept: a a b c. Contiguous a→b ends at the second a's neighbour, which only
    # a search that keeps every occurrence of the prefix finds.
    raw = supports(frequent_patterns(build_sequences(HAND, collapse_repeats=False),
                                     min_support=1, max_gap=0))
    assert raw[("a", "a")] == 1 and raw[("a", "b")] == 1 and raw[("a", "a", "b")] == 1
    assert ("a", "c") in raw  # from acb


def brute_force(sequences: list[list[str]], min_count: int, max_length: int,
                max_gap: int | None) -> dict[tuple[str, ...], int]:
    """Every pattern with its support, by enumerating index combinations."""
    counts: dict[tuple[str, ...], int] = {}
    for seq in sequences:
        seen = set()
        for length in range(1, max_length + 1):
            for idx in itertools.combinations(range(len(seq)), length):
                if max_gap is not None and any(b - a - 1 > max_gap
                                               for a, b in itertools.pairwise(idx)):
                    continue
                seen.add(tuple(seq[i] for i in idx))
        for pattern in seen:
            counts[pattern] = counts.get(pattern, 0) + 1
    return {p: c for p, c in counts.items() if c >= min_count}


def random_log(rng: np.random.Generator, n_users: int, alphabet: str) -> pd.DataFrame:
    rows = []
    for u in range(n_users):
        for s in range(int(rng.integers(1, 3))):
            for _ in range(int(rng.integers(1, 8))):
                # Minutes drawn from a few values, so ties are common.
                rows.append((f"u{u}", s, int(rng.integers(0, 4)) + 100 * s,
                             str(rng.choice(list(alphabet)))))
    return log(rows)


def expected_sequences(events: pd.DataFrame, unit: str, collapse: bool) -> list[list[str]]:
    keys = ["user_id", "session_id"] if unit == "session" else ["user_id"]
    ordered = events.assign(row=np.arange(len(events))).sort_values([*keys, "ts", "row"])
    out = []
    for _, part in ordered.groupby(keys, sort=True):
        seq = part["event"].tolist()
        out.append([k for k, _ in itertools.groupby(seq)] if collapse else seq)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_prefixspan_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    events = random_log(rng, n_users=int(rng.integers(3, 9)), alphabet="abcd"[:3 + seed % 2])
    unit = "session" if seed % 3 else "user"
    collapse = bool(seed % 2)
    seqs = build_sequences(events, unit=unit, collapse_repeats=collapse)
    truth = expected_sequences(events, unit, collapse)
    assert [seqs.sequence(i) for i in range(seqs.n_sequences)] == truth
    for max_gap in (None, 0, 1, 2):
        for min_count in (1, 2, 3):
            got = supports(frequent_patterns(seqs, min_support=min_count, max_length=4,
                                             max_gap=max_gap))
            assert got == brute_force(truth, min_count, 4, max_gap), (max_gap, min_count)


def test_prefixspan_matches_brute_force_on_long_repetitive_sequences():
    rng = np.random.default_rng(99)
    seqs_list = [list(rng.choice(list("ab"), size=int(rng.integers(5, 11))))
                 for _ in range(6)]
    rows = [(f"u{i}", 0, j, e) for i, seq in enumerate(seqs_list) for j, e in enumerate(seq)]
    seqs = build_sequences(log(rows), collapse_repeats=False)
    for max_gap in (None, 0, 1, 3):
        got = supports(frequent_patterns(seqs, min_support=2, max_length=5, max_gap=max_gap))
        assert got == brute_force(seqs_list, 2, 5, max_gap)


def test_settings_are_checked():
    seqs = build_sequences(HAND)
    for bad in (0, -1, 1.5, float("nan"), True, "2%"):
        with pytest.raises(ConfigError, match="minimum support"):
            frequent_patterns(seqs, min_support=bad)
    with pytest.raises(ConfigError, match="maximum length"):
        frequent_patterns(seqs, max_length=0)
    with pytest.raises(ConfigError, match="maximum gap"):
        frequent_patterns(seqs, max_gap=-1)
    with pytest.raises(ConfigError, match="unit"):
        build_sequences(HAND, unit="day")
    with pytest.raises(DataError, match="session_id"):
        build_sequences(HAND.drop(columns="session_id"))
    assert build_sequences(HAND.drop(columns="session_id"), unit="user").n_sequences == 3


def staircase(n_sequences: int = 100, n_events: int = 40) -> pd.DataFrame:
    """Event e_i (i = 0..39) in sequences 0 .. n-1-i, in order: support 100 - i."""
    rows = [(f"u{s}", 0, i, f"e{i:02d}") for s in range(n_sequences)
            for i in range(n_events) if s < n_sequences - i]
    return log(rows)


def test_guard_refuses_before_mining_and_names_the_settings():
    seqs = build_sequences(staircase())
    # 40 frequent events and 4 steps could be 40 + 40² + 40³ + 40⁴ = 2,625,640 patterns.
    # 31 events give 954,304 <= 1,000,000: the 31st most frequent has support 70, so at
    # least 70 sequences; or 3 steps: 65,640.
    with pytest.raises(ConfigError) as error:
        frequent_patterns(seqs, min_support=1, max_length=4)
    message = str(error.value)
    assert "2,625,640" in message
    assert "minimum support to at least 70.0% of the sequences (70)" in message
    assert "maximum length to 3" in message


def test_guard_stops_past_the_pattern_cap_and_names_the_support_needed():
    seqs = build_sequences(staircase())
    # At 70 the bound passes, but the increasing runs of 31 events are C(31,1..4) = 36,456
    # patterns, more than the cap.
    with pytest.raises(ConfigError, match=r"More than 20,000 patterns") as error:
        frequent_patterns(seqs, min_support=70, max_length=4)
    needed = int(re.search(r"at least [\d.]+% of the sequences \((\d+)\)",
                           str(error.value)).group(1))
    assert needed > 70
    assert "maximum length below 4" in str(error.value)
    # "At least": one below it there are indeed more patterns than the cap.
    # The hand-built log has 10 patterns at support 1 (a, b, c, a→b, a→c, b→a, b→c,
    # c→b, a→b→c, a→c→b), 5 at support 2.
    with pytest.raises(ConfigError, match="More than 4 patterns") as error:
        frequent_patterns(build_sequences(HAND), min_support=1, max_patterns=4)
    needed = int(re.search(r"at least [\d.]+% of the sequences \((\d+)\)",
                           str(error.value)).group(1))
    assert len(frequent_patterns(build_sequences(HAND), min_support=needed - 1).table) > 4


def test_no_frequent_event_gives_a_notice_not_an_error():
    result = frequent_patterns(build_sequences(HAND), min_support=5)
    assert result.table.empty
    assert [n.code for n in result.notices] == ["no_frequent_patterns"]


# --------------------------------------------------------------- distinguishing patterns


def planted_log() -> tuple[pd.DataFrame, pd.Series]:
    """Group A: 60 users, 30 of whom do x → y; B: 140 users, 7 of whom do; C: 5 users.

    Every user has one session: a filler event, then (for the planted) x, z, y.
    """
    rows, groups = [], {}
    for name, size, planted in (("A", 60, 30), ("B", 140, 7), ("C", 5, 1)):
        for i in range(size):
            user = f"{name}{i:03d}"
            groups[user] = name
            rows.append((user, 1, 0, "view"))
            if i < planted:
                rows += [(user, 1, 1, "x"), (user, 1, 2, "z"), (user, 1, 3, "y")]
            else:
                rows.append((user, 1, 1, "cart"))
    groups["nobody"] = "B"  # a user of the grouping without events is ignored
    events = log([*rows, ("stray", 1, 0, "view")])  # a user without a group
    return events, pd.Series(groups)


def test_distinguishing_patterns_find_the_planted_sequence():
    events, groups = planted_log()
    table = distinguishing_patterns(build_sequences(events), groups, min_support=0.1,
                                    max_length=3)
    row = table[(table["group"] == "A") & (table["pattern"] == "x → y")].iloc[0]
    # In A 30 of 60; elsewhere (B and C) 7 + 1 of 145.
    assert (row["in_group"], row["group_size"], row["elsewhere"], row["elsewhere_size"]) \
        == (30, 60, 8, 145)
    assert row["ratio"] == pytest.approx((30 / 60) / (8 / 145))
    assert row["difference"] == pytest.approx(30 / 60 - 8 / 145)
    assert row["test"] == "two-proportion z-test (pooled)"
    _, p = proportions_ztest([30, 8], [60, 145])
    assert row["p_value"] == pytest.approx(p, rel=1e-9)
    # The top of A's table is a planted pattern: every pattern with x, y or z (after
    # view, in order) has the same counts, ratio 9.06.
    top = table[table["group"] == "A"].head(13)  # 3 single, 6 pairs, 4 triples
    assert (top["ratio"] == row["ratio"]).all()
    assert top["pattern"].str.contains("x|y|z").all()
    # Sorted by group, then ratio.
    for _, part in table.groupby("group"):
        assert part["ratio"].is_monotonic_decreasing

    # Every p-value again, with statsmodels or scipy as named, then BH over all rows.
    expected = []
    for r in table.itertuples():
        if r.test == "Fisher's exact test":
            expected.append(fisher_exact([[r.in_group, r.group_size - r.in_group],
                                          [r.elsewhere, r.elsewhere_size - r.elsewhere]]
                                         ).pvalue)
        else:
            expected.append(proportions_ztest([r.in_group, r.elsewhere],
                                              [r.group_size, r.elsewhere_size])[1])
    np.testing.assert_allclose(table["p_value"], expected, rtol=1e-9, atol=1e-300)
    reject, adjusted, _, _ = multipletests(expected, alpha=0.05, method="fdr_bh")
    np.testing.assert_allclose(table["p_adjusted"], adjusted, rtol=1e-9, atol=1e-300)
    assert table["significant"].tolist() == reject.tolist()
    assert row["significant"]
    assert "Benjamini-Hochberg" in table.attrs["correction"]

    # B's cart pattern: 133 of 140 vs 30 (A) + 4 (C) of 65 elsewhere.
    cart = table[(table["group"] == "B") & (table["pattern"] == "cart")].iloc[0]
    assert (cart["in_group"], cart["elsewhere"], cart["elsewhere_size"]) == (133, 34, 65)
    codes = [n.code for n in table.attrs["notices"]]
    assert "group_too_small" in codes and "users_without_group" in codes
    small = next(n for n in table.attrs["notices"] if n.code == "group_too_small")
    assert small.subject == "C" and str(MIN_GROUP_SIZE) in small.message
    assert set(table["group"]) == {"A", "B"}


def test_the_test_follows_the_expected_counts():
    events, groups = planted_log()
    table = distinguishing_patterns(build_sequences(events), groups, min_support=0.01,
                                    max_length=2)
    assert set(table["test"]) == {"two-proportion z-test (pooled)", "Fisher's exact test"}
    for r in table.itertuples():
        pooled = (r.in_group + r.elsewhere) / (r.group_size + r.elsewhere_size)
        smallest = min(r.group_size * pooled, r.elsewhere_size * pooled,
                       r.group_size * (1 - pooled), r.elsewhere_size * (1 - pooled))
        assert (r.test == "Fisher's exact test") == (smallest < 5)


def test_fisher_rows_on_a_rare_pattern():
    rows, groups = [], {}
    for name, size, planted in (("A", 30, 4), ("B", 40, 0)):
        for i in range(size):
            user = f"{name}{i}"
            groups[user] = name
            rows += [(user, 1, 0, "view")] + ([(user, 1, 1, "rare")] if i < planted else [])
    table = distinguishing_patterns(build_sequences(log(rows)), pd.Series(groups),
                                    min_support=0.1)
    row = table[(table["group"] == "A") & (table["pattern"] == "rare")].iloc[0]
    assert row["test"] == "Fisher's exact test"
    assert row["ratio"] == math.inf
    assert row["p_value"] == pytest.approx(fisher_exact([[4, 26], [0, 40]]).pvalue)


def contains(seq: list[str], pattern: tuple[str, ...], max_gap: int | None) -> bool:
    return any(tuple(seq[i] for i in idx) == pattern
               and (max_gap is None or all(b - a - 1 <= max_gap
                                           for a, b in itertools.pairwise(idx)))
               for idx in itertools.combinations(range(len(seq)), len(pattern)))


def brute_group_counts(seqs_list, users, labels, pattern, count, max_gap):
    hit = [contains(s, pattern, max_gap) for s in seqs_list]
    if count == "sequences":
        return {g: sum(h for h, lab in zip(hit, labels, strict=True) if lab == g)
                for g in set(labels)}
    per_user = {}
    for h, u, lab in zip(hit, users, labels, strict=True):
        per_user[u] = (per_user.get(u, (False, lab))[0] or h, lab)
    return {g: sum(h for h, lab in per_user.values() if lab == g) for g in set(labels)}


@pytest.mark.parametrize(("count", "max_gap"), [("users", None), ("sequences", None),
                                                ("users", 1), ("sequences", 0)])
def test_group_counts_match_brute_force(count, max_gap):
    rng = np.random.default_rng(5)
    events = random_log(rng, n_users=60, alphabet="abc")
    groups = pd.Series({f"u{u}": "G1" if u % 3 else "G2" for u in range(60)})
    seqs = build_sequences(events)
    truth = expected_sequences(events, "session", True)
    labels = [groups[u] for u in seqs.user_ids]
    table = distinguishing_patterns(seqs, groups, min_support=0.05, max_length=3,
                                    max_gap=max_gap, count=count)
    assert len(table) > 10
    for r in table.itertuples():
        pattern = tuple(r.pattern.split(" → "))
        counts = brute_group_counts(truth, list(seqs.user_ids), labels, pattern, count,
                                    max_gap)
        other = next(g for g in counts if g != r.group)
        assert (r.in_group, r.elsewhere) == (counts[r.group], counts[other])
    if count == "sequences":
        assert any(n.code == "sessions_not_independent" for n in table.attrs["notices"])


def test_one_group_is_refused():
    events, _ = planted_log()
    with pytest.raises(ConfigError, match="at least two groups"):
        distinguishing_patterns(build_sequences(events),
                                pd.Series("A", index=events["user_id"].unique()))


def test_the_sample_shops_bargain_hunters_use_coupons_after_searching():
    from core.data.sample.generator import generate_sample
    from core.data.sessions import sessionize

    sample = generate_sample(n_users=600, days=30, seed=3)
    events = sessionize(sample.events)
    personas = sample.personas.set_index("user_id")["persona"]
    table = distinguishing_patterns(build_sequences(events), personas, max_length=3)
    bargain = table[(table["group"] == "bargain_hunter") & table["significant"]]
    assert bargain["pattern"].str.contains("coupon_use").head(5).all()


# --------------------------------------------------------------------- pattern feature


def test_pattern_feature_per_user():
    flag = pattern_feature(HAND, ["a", "b"])
    # u1: abc has a→b (the tie session ba does not); u2: acb has it; u3: c does not.
    assert flag.to_dict() == {"u1": 1, "u2": 1, "u3": 0}
    assert flag.name == "did_a_then_b" == pattern_feature_name(["a", "b"])
    assert flag.attrs["definition"] == pattern_definition(["a", "b"])
    assert "in one session" in flag.attrs["definition"]
    assert pattern_feature(HAND, ["a", "b"], max_gap=0).to_dict() == {"u1": 1, "u2": 0,
                                                                       "u3": 0}
    # Over whole histories u1 is a b c b a: b→a is there (it is not in one session).
    assert pattern_feature(HAND, ["b", "a"], unit="user").to_dict() == {"u1": 1, "u2": 0,
                                                                         "u3": 0}
    count = pattern_feature(HAND, ["a"], value="count")
    assert count.to_dict() == {"u1": 2, "u2": 1, "u3": 0}
    assert count.name == "did_a_sessions"
    assert pattern_feature_name(["Add to cart", "purchase!"]) == \
        "did_add_to_cart_then_purchase"
    with pytest.raises(ConfigError, match="no event 'nope'"):
        pattern_feature(HAND, ["a", "nope"])
    with pytest.raises(ConfigError, match="no events"):
        pattern_feature(HAND, [])
    with pytest.raises(ConfigError, match="unit='session'"):
        pattern_feature(HAND, ["a"], unit="user", value="count")


@pytest.mark.parametrize("seed", range(4))
def test_pattern_feature_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    events = random_log(rng, n_users=15, alphabet="abc")
    truth = expected_sequences(events, "session", True)
    owners = [u for (u, _), _ in events.sort_values(["user_id", "session_id"])
              .groupby(["user_id", "session_id"], sort=True)]
    for pattern in (("a", "b"), ("c", "a", "c"), ("b",)):
        for max_gap in (None, 0, 1):
            got = pattern_feature(events, pattern, max_gap=max_gap, value="count")
            want = {u: 0 for u in owners}
            for seq, user in zip(truth, owners, strict=True):
                want[user] += contains(seq, pattern, max_gap)
            assert got.to_dict() == want, (pattern, max_gap)


def test_progress_is_reported_up_to_the_end():
    calls = []
    frequent_patterns(build_sequences(HAND), min_support=1,
                      progress=lambda f, m: calls.append((f, m)))
    assert calls[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in calls)
    assert calls[0][1] == "Patterns starting with a"
