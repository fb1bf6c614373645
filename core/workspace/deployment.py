"""How this server is deployed: for one analyst on their machine, or for a team.

Read from the environment, so that one command starts either (see the README):

``PERSONA_LENS_MODE``
    ``local`` (default): no sign-in, every saved workspace of this machine is listed.
    ``team``: sign-in through OpenID Connect; workspaces have owners and shares.
``PERSONA_LENS_QUOTA_MB``
    Disk each owner's workspaces may use (team default 2048; local default none).
``PERSONA_LENS_EMPTY_HOURS``
    A saved workspace without data is removed after this many idle hours (default 24).
``PERSONA_LENS_IDLE_DAYS``
    A workspace nobody opened or changed for this many days is removed (team default 90;
    local default never). 0 means never.
``PERSONA_LENS_DATA_ROOT``
    A folder on the server whose files (and folders of Parquet files) the Data page can
    open without uploading them; nothing outside it is reachable
    (:mod:`core.data.server_files`). Unset (default): off. In team mode everyone signed
    in can read every file under it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from core.common.errors import ConfigError

Mode = Literal["local", "team"]


@dataclass(frozen=True)
class Deployment:
    """The settings of this server (see the module docstring)."""

    mode: Mode = "local"
    quota_bytes: int | None = None
    empty_hours: float = 24.0
    idle_days: float | None = None
    #: PERSONA_LENS_DATA_ROOT as set, or None (off); checked by core.data.server_files
    #: where it is used, so that a wrong folder does not stop every page.
    data_root: str | None = None

    @property
    def team(self) -> bool:
        return self.mode == "team"


def deployment() -> Deployment:
    """The deployment described by the environment.

    Raises
    ------
    ConfigError
        When a setting is not one of the allowed values.
    """
    mode = os.environ.get("PERSONA_LENS_MODE", "local").strip().lower() or "local"
    if mode not in ("local", "team"):
        raise ConfigError(f"PERSONA_LENS_MODE is '{mode}'; use 'local' or 'team'.")
    team = mode == "team"
    quota_mb = _number("PERSONA_LENS_QUOTA_MB", 2048 if team else 0)
    idle_days = _number("PERSONA_LENS_IDLE_DAYS", 90 if team else 0)
    return Deployment(mode=mode, quota_bytes=int(quota_mb * 2**20) if quota_mb else None,
                      empty_hours=_number("PERSONA_LENS_EMPTY_HOURS", 24),
                      idle_days=idle_days or None,
                      data_root=os.environ.get("PERSONA_LENS_DATA_ROOT", "").strip() or None)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigError(f"{name} is '{raw}'; it must be a number of 0 or more.")
    return value
