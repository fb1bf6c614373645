"""Who may open a workspace in team mode: its owner, the people it is shared with, and
holders of a view-only link.

Kept in ``<workspace>/access.json`` beside the revisions (see
:mod:`core.workspace.revisions`), not inside them: sharing never conflicts with a save in
progress, and a revoke takes effect on the viewer's next interaction, because every run
reads this file again. Changes are made under a file lock. Links are random tokens shown
once, when created; only their SHA-256 is stored. Refusals and sharing changes are written
to ``<home>/audit.log`` (one JSON object per line) and to the server log.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Literal

from core.common.errors import AccessDeniedError, ConfigError
from core.workspace.store import home, now_utc

Role = Literal["owner", "edit", "view"]
#: The roles an owner can give.
SHARE_ROLES: tuple[Role, ...] = ("view", "edit")
ACCESS_FILE = "access.json"
LOG = logging.getLogger("persona_lens.access")
_IDENTITY = re.compile(r"^[^\s<>\"'`\\]{1,254}$")


@dataclass
class Link:
    """A view-only link: its id (shown to the owner) and the hash of its secret token."""

    id: str
    token_sha256: str
    created: str
    created_by: str


@dataclass
class AccessList:
    """The owner, the shares and the links of one workspace."""

    owner: str | None = None
    shares: dict[str, Role] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    #: When someone last opened it (the clean-up of abandoned workspaces reads it).
    opened: str | None = None

    def role(self, identity: str | None, link_token: str | None = None) -> Role | None:
        """What ``identity`` may do here (None: nothing)."""
        if identity and identity == self.owner:
            return "owner"
        if identity and identity in self.shares:
            return self.shares[identity]
        if link_token and any(hmac.compare_digest(link.token_sha256, _digest(link_token))
                              for link in self.links):
            return "view"
        return None


def normalise_identity(text: str) -> str:
    """An analyst's identity as stored: the e-mail (or subject) trimmed, lower case.

    Raises
    ------
    ConfigError
        When it is empty, too long or holds spaces, quotes or angle brackets.
    """
    identity = str(text).strip().lower()
    if not _IDENTITY.match(identity):
        raise ConfigError("Give the person's e-mail address as their sign-in shows it "
                          "(no spaces or quotes), for example ana@example.com.")
    return identity


def read_access(workspace_id: str) -> AccessList:
    """The access list of a workspace (empty when it has none)."""
    path = home() / workspace_id / ACCESS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return AccessList()
    if not isinstance(data, dict):
        return AccessList()
    shares = {str(k): v for k, v in (data.get("shares") or {}).items() if v in SHARE_ROLES}
    links = [Link(**{k: str(item.get(k, "")) for k in ("id", "token_sha256", "created",
                                                       "created_by")})
             for item in data.get("links") or [] if isinstance(item, dict)]
    owner = data.get("owner")
    return AccessList(owner=str(owner) if owner else None, shares=shares, links=links,
                      opened=data.get("opened"))


@contextmanager
def changing(workspace_id: str) -> Iterator[AccessList]:
    """Read, change and write back an access list under a lock (one writer at a time)."""
    folder = home() / workspace_id
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".access.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_access(workspace_id)
        yield current
        tmp = folder / f"{ACCESS_FILE}.tmp"
        tmp.write_text(json.dumps(asdict(current), indent=2), encoding="utf-8")
        os.replace(tmp, folder / ACCESS_FILE)


def claim(workspace_id: str, owner: str | None) -> None:
    """Record the owner of a workspace saved for the first time.

    Raises
    ------
    AccessDeniedError
        When the workspace already belongs to someone else.
    """
    with changing(workspace_id) as current:
        if current.owner and current.owner != owner:
            raise AccessDeniedError("This workspace id belongs to someone else; start a new "
                               "workspace.")
        current.owner = current.owner or owner
        current.opened = now_utc()


def mark_opened(workspace_id: str) -> None:
    """Record that the workspace was opened now (it is not abandoned)."""
    if (home() / workspace_id).is_dir():
        with changing(workspace_id) as current:
            current.opened = now_utc()


def share(workspace_id: str, by: str, person: str, role: Role) -> str:
    """Share with ``person`` as ``role`` (view or edit); returns the stored identity.

    Raises
    ------
    AccessDeniedError
        When ``by`` is not the owner.
    ConfigError
        When the person or the role is not valid, or the owner shares with themselves.
    """
    if role not in SHARE_ROLES:
        raise ConfigError(f"A share is 'view' or 'edit', not '{role}'.")
    person = normalise_identity(person)
    with changing(workspace_id) as current:
        _require_owner(current, by, workspace_id)
        if person == current.owner:
            raise ConfigError("You own this workspace already.")
        current.shares[person] = role
    audit("share", workspace=workspace_id, by=by, person=person, role=role)
    return person


def unshare(workspace_id: str, by: str, person: str) -> None:
    """Revoke ``person``'s share; they lose access on their next interaction."""
    with changing(workspace_id) as current:
        _require_owner(current, by, workspace_id)
        current.shares.pop(person, None)
    audit("unshare", workspace=workspace_id, by=by, person=person)


def create_link(workspace_id: str, by: str) -> str:
    """Create a view-only link; returns its secret token (shown once, never stored)."""
    token = secrets.token_urlsafe(24)
    with changing(workspace_id) as current:
        _require_owner(current, by, workspace_id)
        link = Link(id=secrets.token_hex(4), token_sha256=_digest(token), created=now_utc(),
                    created_by=by)
        current.links.append(link)
    audit("create_link", workspace=workspace_id, by=by, link=link.id)
    return token


def revoke_link(workspace_id: str, by: str, link_id: str) -> None:
    """Revoke a view-only link: it stops working at once."""
    with changing(workspace_id) as current:
        _require_owner(current, by, workspace_id)
        current.links = [link for link in current.links if link.id != link_id]
    audit("revoke_link", workspace=workspace_id, by=by, link=link_id)


def refuse(workspace_id: str, identity: str | None, why: str) -> None:
    """Log a refused attempt to open a workspace."""
    audit("refused", workspace=workspace_id, identity=identity or "(anonymous)", why=why)


def visible_to(identity: str) -> Callable[[str], bool]:
    """Whether a workspace id is listed for ``identity`` (owned by or shared with them)."""
    return lambda workspace_id: read_access(workspace_id).role(identity) is not None


def audit(event: str, **fields: str) -> None:
    """Append one event to ``<home>/audit.log`` and the server log."""
    record = {"time": now_utc(), "event": event, **fields}
    LOG.warning("access %s", json.dumps(record))
    root = home()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "audit.log", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _require_owner(current: AccessList, by: str, workspace_id: str) -> None:
    if current.owner is None or by != current.owner:
        refuse(workspace_id, by, "not the owner")
        raise AccessDeniedError("Only the workspace's owner can change who may open it.")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
