"""The sample shop's planted personas show their planted journeys in every view: cart
abandoners fill carts and rarely buy, loyal high-value buyers convert and come back,
dormant users do not come back."""

from __future__ import annotations

import pytest

from core.data.sample.generator import generate_sample
from core.data.sessions import sessionize
from core.journeys import FunnelSpec, Step, funnel, paths, retention, retention_curve


@pytest.fixture(scope="module")
def shop():
    sample = generate_sample(n_users=1200, days=60, seed=5)
    return sessionize(sample.events), sample.personas.set_index("user_id")["persona"]


def test_cart_abandoners_add_to_cart_and_rarely_buy(shop):
    events, personas = shop
    result = funnel(events, FunnelSpec((Step("add_to_cart"), Step("purchase"))), personas)
    last = result.steps[result.steps["step"] == 2].set_index("group")
    conversion = last["conversion_from_first"]
    assert conversion.idxmin() == "cart_abandoner"
    assert conversion["loyal_high_value"] > 2 * conversion["cart_abandoner"]
    assert result.test.p_value < 1e-6


def test_paths_after_add_to_cart_add_up_and_differ_by_persona(shop):
    events, personas = shop
    result = paths(events, start="add_to_cart", steps=3, groups=personas)
    for column in range(4):
        nodes = result.nodes[result.nodes["column"] == column]
        assert int(nodes["users"].sum()) == result.users
    matrix = result.step_matrix
    loyal, abandon = matrix["loyal_high_value"], matrix["cart_abandoner"]
    purchase_loyal = loyal.loc["checkout"].sum() if "checkout" in loyal.index else 0
    purchase_abandon = abandon.loc["checkout"].sum() if "checkout" in abandon.index else 0
    assert purchase_loyal > purchase_abandon


def test_loyal_buyers_come_back_more_than_dormant_users(shop):
    events, personas = shop
    curve = retention_curve(retention(events, period="week", groups=personas))
    week_two = curve[curve["period"] == 2].set_index("group")["share"]
    assert week_two["loyal_high_value"] > week_two["dormant"] + 0.2
