"""``python -m core rules RULES.json INPUT -o actions.csv`` on a small sample."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.cli import main
from core.data.sample import write_sample
from core.rules import Rule, RuleSet, holdout_hash, rules_json_bytes
from core.rules.grammar import parse_rule

RULES = [
    ("churn", 'persona = "Sleepers" and hours_since_last_event >= 48 -> show reengage_modal '
              "in slot modal priority 10 cap 1/day holdout 20%"),
    ("carts", "count(add_to_cart, 7d) >= 1 -> show email priority 3"),
    ("busy", "sessions > 5 -> show reengage_modal in slot modal priority 2"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules_cli")
    sample = write_sample(folder / "events.parquet", n_users=300, days=60, seed=5)
    users = sorted(sample.events["user_id"].unique())
    pd.DataFrame({"user_id": users,
                  "persona": ["Sleepers" if i % 2 else "Others" for i in range(len(users))]}
                 ).to_csv(folder / "personas.csv", index=False)
    rules = [Rule(i, i.title(), parse_rule(t).condition, parse_rule(t).action)
             for i, t in RULES]
    (folder / "rules.json").write_bytes(rules_json_bytes(RuleSet(rules)))
    return folder


def test_rules_command_writes_the_actions(files, capsys):
    out = files / "actions.csv"
    code = main(["rules", str(files / "rules.json"), str(files / "events.parquet"), "-o",
                 str(out), "--personas", str(files / "personas.csv"), "--holdouts",
                 str(files / "holdouts.csv")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Evaluated 3 rule(s) on 300 users" in printed
    actions = pd.read_csv(out, dtype={"holdout_rules": str}, keep_default_na=False)
    assert list(actions.columns[:4]) == ["user_id", "slot", "action", "winning_rule"]
    assert set(actions["slot"]) == {"modal", "email"}
    # In the modal slot, churn (priority 10) beats busy (2) unless the user is held out.
    modal = actions[actions["slot"] == "modal"]
    churn = modal[modal["winning_rule"] == "churn"]
    assert len(churn) and (churn["action"] == "reengage_modal").all()
    assert churn["explanation"].str.startswith('persona = "Sleepers" [Sleepers]; '
                                               "hours_since_last_event >= 48 [").all()
    held = actions[actions["holdout"].astype(str) == "True"]
    assert len(held) and (held["holdout_rules"] == "churn").all()
    assert (held["winning_rule"] != "churn").all()
    assert all(holdout_hash(u, "churn") < 0.2 for u in held["user_id"])
    # The hold-out file lists every user for the rule with a hold-out, same draws.
    groups = pd.read_csv(files / "holdouts.csv")
    assert len(groups) == 300 and set(groups["rule_id"]) == {"churn"}
    assert set(held["user_id"]) <= set(groups.loc[groups["group"] == "holdout", "user_id"])
    # Counts are the window counts of the data: "now" is its last timestamp.
    events = pd.read_parquet(files / "events.parquet")
    now = events["ts"].max()
    recent = events[(events["event"] == "add_to_cart") &
                    (events["ts"] > now - pd.Timedelta(days=7))]["user_id"].unique()
    assert set(actions.loc[actions["slot"] == "email", "user_id"]) == set(recent)


def test_persona_rules_without_personas_exit_3_with_a_message(files, capsys):
    code = main(["rules", str(files / "rules.json"), str(files / "events.parquet"), "-o",
                 str(files / "x.csv")])
    assert code == 3
    assert "--personas" in capsys.readouterr().err


def test_a_broken_rules_file_exits_3(files, capsys):
    bad = files / "bad.json"
    data = json.loads((files / "rules.json").read_text())
    data["rules"][0]["action"]["cap"]["per"] = "week"
    bad.write_text(json.dumps(data))
    code = main(["rules", str(bad), str(files / "events.parquet"), "-o", str(files / "x.csv")])
    assert code == 3
    assert "at $.rules[0].action.cap.per" in capsys.readouterr().err


def test_a_carousel_rule_lists_the_recommended_items(files, capsys):
    rule = parse_rule("sessions >= 1 -> show recommendation_carousel in slot home_carousel")
    path = files / "carousel.json"
    path.write_bytes(rules_json_bytes(RuleSet([Rule("picks", "Picks", rule.condition,
                                                    rule.action)])))
    recs = files / "recs.csv"
    assert main(["recommend", str(files / "events.parquet"), "-o", str(recs), "-n", "3"]) == 0
    out = files / "carousel.csv"
    capsys.readouterr()
    assert main(["rules", str(path), str(files / "events.parquet"), "-o", str(out)]) == 0
    assert "pass --recommendations" in capsys.readouterr().err
    assert main(["rules", str(path), str(files / "events.parquet"), "-o", str(out),
                 "--recommendations", str(recs)]) == 0
    actions = pd.read_csv(out, dtype={"user_id": str}).set_index("user_id")
    table = pd.read_csv(recs, dtype={"user_id": str}).sort_values(["user_id", "rank"])
    expected = table.groupby("user_id")["item"].agg("; ".join)
    shown = actions["items"].dropna()
    assert len(shown) > 0
    assert (shown == expected.loc[shown.index]).all()
