"""Rules in Chromium: write a rule in the text box, see its reach, look up one user's
explanation, and export the rules JSON and the evaluation CSV (files checked)."""

from __future__ import annotations

import json
import re

import jsonschema
import pandas as pd
import pytest

from core.rules import condition_mask, holdout_hash, schema
from core.rules.grammar import parse_rule
from core.workspace.rules import context_from_workspace
from core.workspace.store import Workspace
from tests.browser.conftest import save_a_step, shoot
from tests.browser.test_widths import CUT_OFF

pytestmark = pytest.mark.browser

RULE = ("sessions > 3 and hours_since_last_event >= 48 -> show reengage_modal in slot modal "
        "priority 10 cap 1/day holdout 10%")


def _metric(page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text=label)
    return metric.get_by_test_id("stMetricValue").inner_text()


def test_write_a_rule_explain_a_user_and_export(app_server, page, monkeypatch, tmp_path):
    page.goto(app_server["url"])
    page.get_by_role("heading", name="Persona Lens").wait_for(timeout=90_000)
    saved_id = save_a_step(page)  # a visit saves nothing before its first step
    page.goto(f"{app_server['url']}/rules?ws={saved_id}")
    page.get_by_role("heading", name="Rules").first.wait_for(timeout=90_000)
    page.get_by_text("No rules yet").wait_for(timeout=60_000)

    # A typo is pointed at, then the rule is written right and shows its reach.
    page.get_by_label("Rule name").first.fill("Win back")
    # The rule box takes several lines; Ctrl+Enter applies it.
    box = page.get_by_label("Rule", exact=True)
    box.fill("sessions > 3\n  and sesions > 2\n-> show push")
    box.press("Control+Enter")
    page.get_by_text("Unknown name 'sesions' (line 2, column 7).").wait_for()
    box.fill(RULE)
    box.press("Control+Enter")
    page.get_by_text("Reach of this rule").wait_for()
    reach = int(re.match(r"([\d,]+) users", _metric(page, "Reach of this rule"))
                .group(1).replace(",", ""))
    assert 0 < reach < 5000
    shoot(page, "10_rules_text")

    # The same reach from core on the workspace the app saved.
    ws_id = re.search(r"ws=([0-9a-f]{12})", page.url).group(1)
    monkeypatch.setenv("PERSONA_LENS_HOME", str(app_server["home"]))
    ws = Workspace.load(ws_id)
    context = context_from_workspace(ws)
    matched = condition_mask(parse_rule(RULE).condition, context)
    assert int(matched.sum()) == reach

    page.get_by_role("button", name="Add rule", exact=True).click()
    page.get_by_text("Saved rule 'Win back'.").wait_for()
    page.get_by_text("Simulation on the current users").wait_for()
    assert _metric(page, "No rule reaches") == f"{5000 - reach:,}"
    page.get_by_text(f"Win back: {reach:,} users").wait_for()

    # Why am I seeing this, for a user the rule reaches outside its hold-out.
    user = next(u for u in context.users[matched] if holdout_hash(u, "win_back") >= 0.1)
    user_box = page.get_by_role("textbox", name="Or type a user id")
    user_box.fill(user)
    user_box.press("Enter")
    page.get_by_text(f"User {user} sees: modal → reengage_modal (rule 'Win back')").wait_for()
    page.get_by_text("Win back (wins)").wait_for()
    hours = context.values.loc[user, "hours_since_last_event"]
    page.get_by_text(f"hours_since_last_event >= 48 — user: {hours:.4g}").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    shoot(page, "11_rules_simulation_1440")
    page.set_viewport_size({"width": 1024, "height": 1000})
    page.wait_for_timeout(800)
    shoot(page, "11_rules_simulation_1024")
    assert page.evaluate(CUT_OFF) == []
    page.set_viewport_size({"width": 1440, "height": 1000})

    # Export: the JSON follows the schema and holds the rule; the CSV has every reached
    # user once, with the hold-out flag from the published draw.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download rules (JSON)").click()
    rules_path = tmp_path / "rules.json"
    download.value.save_as(rules_path)
    data = json.loads(rules_path.read_text())
    jsonschema.validate(data, schema())
    assert [r["id"] for r in data["rules"]] == ["win_back"]
    assert data["rules"][0]["text"] == RULE

    with page.expect_download() as download:
        page.get_by_role("button", name="Download evaluation (CSV)").click()
    csv_path = tmp_path / "actions.csv"
    download.value.save_as(csv_path)
    actions = pd.read_csv(csv_path, keep_default_na=False, dtype={"user_id": str})
    assert len(actions) == reach
    assert set(actions["user_id"]) == set(context.users[matched])
    expected_holdout = actions["user_id"].map(lambda u: holdout_hash(u, "win_back") < 0.1)
    assert (actions["holdout"].astype(str) == expected_holdout.astype(str)).all()
    row = actions.set_index("user_id").loc[user]
    assert row["action"] == "reengage_modal" and row["winning_rule"] == "win_back"
    assert f"hours_since_last_event >= 48 [{hours:.4g}]" in row["explanation"]
