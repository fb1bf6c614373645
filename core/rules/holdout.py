"""Hold-out draws: a stable uniform number per (user, rule), and the hold-out table."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from core.rules.model import Rule


def holdout_hash(user_id: str, rule_id: str) -> float:
    """The hold-out draw of one user for one rule: uniform in [0, 1), the same every run.

    ``blake2b`` (8-byte digest) of the user id and of the rule id, combined by
    :func:`mix64`; the top 53 bits make the float. :func:`holdout_values` computes the
    same value for many users at once. A user is held out when the draw is under the
    rule's hold-out share.
    """
    return (mix64(blake64(user_id) ^ blake64(rule_id)) >> 11) / 2.0 ** 53


def blake64(text: str) -> int:
    """First 8 bytes of blake2b of the UTF-8 text, as an unsigned integer."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(),
                          "little")


def mix64(value: int) -> int:
    """SplitMix64 finaliser: spreads every input bit over the whole 64-bit output."""
    mask = (1 << 64) - 1
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & mask
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & mask
    return value ^ (value >> 31)


def holdout_values(user_hashes: np.ndarray, rule_id: str) -> np.ndarray:
    """Hold-out draws of many users for one rule; equal to :func:`holdout_hash` each."""
    value = user_hashes ^ np.uint64(blake64(rule_id))
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    value = value ^ (value >> np.uint64(31))
    return (value >> np.uint64(11)).astype(np.float64) / 2.0 ** 53


def holdout_table(rules: list[Rule], user_ids: pd.Index | list[str]) -> pd.DataFrame:
    """Hold-out group of every user for every rule that has a hold-out.

    Parameters
    ----------
    rules : list of Rule
        Rules without a hold-out share are skipped.
    user_ids : Index or list
        Users to assign (all of them, matched or not: join with the evaluation to keep
        the users a rule reaches).

    Returns
    -------
    DataFrame
        Columns ``user_id``, ``rule_id``, ``group`` ("holdout" or "treatment") and
        ``draw`` (the uniform draw; held out when ``draw < holdout share``).
    """
    ids = pd.Index(user_ids).astype(str)
    hashes = np.fromiter((blake64(u) for u in ids), dtype=np.uint64, count=len(ids))
    parts = []
    for rule in rules:
        if rule.action.holdout_percent > 0:
            draw = holdout_values(hashes, rule.id)
            held = draw < rule.action.holdout_percent / 100
            parts.append(pd.DataFrame({"user_id": ids, "rule_id": rule.id,
                                       "group": np.where(held, "holdout", "treatment"),
                                       "draw": draw}))
    if not parts:
        return pd.DataFrame({"user_id": pd.Series(dtype=str), "rule_id": pd.Series(dtype=str),
                             "group": pd.Series(dtype=str), "draw": pd.Series(dtype=float)})
    return pd.concat(parts, ignore_index=True)
