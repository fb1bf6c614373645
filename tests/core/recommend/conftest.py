"""A tiny shop worked out by hand, shared by the recommendation tests.

Six users, four items (columns in id order: w = 0, x = 1, y = 2, z = 3); weights view 1,
add_to_cart 3, purchase 5::

    A: x view, y view             B: x view, y purchase
    C: y view, z view             D: z add_to_cart, w purchase
    E: y view                     G: w purchase

Users of each item: x {A, B}, y {A, B, C, E}, z {C, D}, w {D, G}. Cosine of the binary
columns, |U_i ∩ U_j| / √(|U_i| |U_j|):

    sim(x, y) = 2 / √8 = 0.7071    sim(y, z) = 1 / √8 = 0.3536    sim(z, w) = 1 / √4 = 0.5
    every other pair 0.

Personas: A, B are "P"; C, D, E, G are "Q".
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

WEIGHTS = {"product_view": 1, "add_to_cart": 3, "purchase": 5}
SIM_XY = 2 / math.sqrt(8)
SIM_YZ = 1 / math.sqrt(8)
SIM_ZW = 0.5
ITEMS = ["w", "x", "y", "z"]
LOG = [
    ("A", "x", "product_view"), ("A", "y", "product_view"),
    ("B", "x", "product_view"), ("B", "y", "purchase"),
    ("C", "y", "product_view"), ("C", "z", "product_view"),
    ("D", "z", "add_to_cart"), ("D", "w", "purchase"),
    ("E", "y", "product_view"),
    ("G", "w", "purchase"),
]


def shop_events(rows=LOG, start: str = "2024-01-01") -> pd.DataFrame:
    """The log as canonical events, one hour apart."""
    return pd.DataFrame({
        "user_id": [r[0] for r in rows],
        "ts": pd.date_range(start, periods=len(rows), freq="h", tz="UTC"),
        "event": [r[2] for r in rows],
        "product_id": [r[1] for r in rows],
    })


@pytest.fixture
def events() -> pd.DataFrame:
    return shop_events()


@pytest.fixture
def personas() -> pd.Series:
    return pd.Series({"A": "P", "B": "P", "C": "Q", "D": "Q", "E": "Q", "G": "Q"})


#: The sample shop the tests check the methods on: users prefer a category (65 % of their
#: sessions), products are popularity-skewed within each category. 4,000 users over 90
#: days give about 1,350 scored users on the default time split, in about a second.
SAMPLE = {"n_users": 4000, "days": 90, "seed": 3}


@pytest.fixture(scope="session")
def sample_shop():
    from core.data.sample import generate_sample

    return generate_sample(**SAMPLE)


@pytest.fixture(scope="session")
def sample_split(sample_shop):
    from core.recommend import time_split

    return time_split(sample_shop.events, WEIGHTS)
