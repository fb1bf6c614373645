"""Pseudonymisation of user ids with a keyed hash (HMAC-SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

#: Hex characters kept from the digest: 80 bits, so a collision among a billion ids
#: has a probability below 1e-6 while ids stay short enough to read.
PSEUDONYM_HEX_CHARS = 20


def new_key() -> str:
    """Return a new random 256-bit key as 64 hex characters."""
    return secrets.token_hex(32)


def pseudonymise(user_ids: Iterable[str], key: str) -> dict[str, str]:
    """Map each user id to its keyed hash.

    Parameters
    ----------
    user_ids : iterable of str
        Distinct user ids.
    key : str
        The secret key, as returned by :func:`new_key`. The same key gives the same
        pseudonyms, so data loaded later can be joined; without the key the original
        ids cannot be recovered or confirmed.

    Returns
    -------
    dict
        ``{user_id: "u_" + first 20 hex characters of HMAC-SHA-256(key, user_id)}``.
    """
    key_bytes = key.encode("utf-8")
    return {
        uid: "u_" + hmac.new(key_bytes, str(uid).encode("utf-8"), hashlib.sha256)
        .hexdigest()[:PSEUDONYM_HEX_CHARS]
        for uid in user_ids
    }
