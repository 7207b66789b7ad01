"""Client systems over their lifetime: list, disable, enable, and rotate their API keys and VXP secrets (issue 17
item 5: a leaked key must be revocable).

* **Disable** sets ``client_system.active`` false: every API key of the system and its VXP secret stop working.
  Authentication refuses an inactive system (service/exchange/directory.py, service/vxp/systems.py); a process
  that checked a key less than ``EDOC_AUTH_CACHE_SECONDS`` ago may still accept it until then (the cache bargain
  written in :class:`~service.exchange.directory.CallerCache`), a process that made the change forgets at once.
  **Enable** undoes it. Nothing is deleted: the exchange log names the system, and packages reference it.
* **Rotate** issues a new API key (or VXP secret) and lets the old one work for a grace period, so that a DMS can
  be reconfigured without an outage. The default grace is :data:`DEFAULT_GRACE` (24 hours: one working day to
  redeploy a DMS's configuration); ``0`` ends the old one at once (a leaked key). Only one previous VXP secret is
  kept: rotating again ends the earlier one.

Keys and secrets are returned once, to be shown once; nothing here logs or lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.exchange.directory import issue_key, seal_secret
from service.exchange.errors import Conflict, Invalid, NotFound
from storage.models import ApiKey, ClientSystem, utcnow

__all__ = [
    "DEFAULT_GRACE",
    "Rotation",
    "client_view",
    "find_client",
    "list_clients",
    "parse_grace",
    "rotate_api_key",
    "rotate_vxp_secret",
    "set_active",
]

DEFAULT_GRACE = timedelta(hours=24)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Rotation:
    """A new credential (shown once) and until when the one it replaced keeps working (None: ended now)."""

    client_id: str
    credential: str
    previous_valid_until: datetime | None


def parse_grace(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``2d`` or plain seconds; :class:`Invalid` otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise Invalid(f"not a duration: {text!r} (e.g. 0, 90s, 30m, 24h, 2d)", code="invalid_grace")
    return timedelta(seconds=float(match.group(1)) * _UNIT[match.group(2)])


def find_client(session: Session, ref: str) -> ClientSystem:
    """The client system with this id or name; :class:`NotFound` otherwise."""
    query = sa.select(ClientSystem).where(sa.or_(ClientSystem.id == ref, ClientSystem.name == ref))
    client = session.execute(query).scalars().first()
    if client is None:
        raise NotFound(f"no client system with the id or name {ref!r}", code="unknown_client")
    return client


def _live_keys(session: Session, client_id: str, now: datetime) -> list[ApiKey]:
    query = (
        sa.select(ApiKey)
        .where(ApiKey.client_id == client_id, ApiKey.revoked_at.is_(None))
        .where(sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))
        .order_by(ApiKey.created_at)
    )
    return list(session.execute(query).scalars())


def client_view(session: Session, client: ClientSystem) -> dict[str, Any]:
    """What may be shown of a client system: never a key or a secret, only a key's first characters."""
    now = utcnow()
    previous_until = client.vxp_previous_secret_expires_at
    return {
        "id": client.id,
        "name": client.name,
        "role": client.role,
        "agencies": client.agency_codes,
        "active": client.active,
        "vxp_systemid": client.vxp_systemid,
        "vxp_previous_secret_valid_until": (
            previous_until.isoformat() if previous_until is not None and previous_until > now else None
        ),
        "api_keys": [
            {
                "prefix": key.prefix,
                "created_at": key.created_at.isoformat(),
                "valid_until": None if key.expires_at is None else key.expires_at.isoformat(),
            }
            for key in _live_keys(session, client.id, now)
        ],
    }


def list_clients(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(sa.select(ClientSystem).order_by(ClientSystem.name)).scalars().all()
    return [client_view(session, client) for client in rows]


def set_active(session: Session, client: ClientSystem, active: bool) -> bool:
    """Enable or disable ``client`` (see the module docstring); returns whether anything changed."""
    if client.active == active:
        return False
    client.active = active
    session.flush()
    return True


def _ends_at(grace: timedelta) -> datetime | None:
    if grace < timedelta(0):
        raise Invalid("the grace period cannot be negative", code="invalid_grace")
    return utcnow() + grace if grace > timedelta(0) else None


def rotate_api_key(session: Session, client: ClientSystem, *, grace: timedelta = DEFAULT_GRACE) -> Rotation:
    """A new API key for ``client``; its current keys end after ``grace`` (at once for 0)."""
    ends = _ends_at(grace)
    now = utcnow()
    for key in _live_keys(session, client.id, now):
        if ends is None:
            key.revoked_at = now
        elif key.expires_at is None or key.expires_at > ends:
            key.expires_at = ends
    new_key = issue_key(session, client)
    session.flush()
    return Rotation(client.id, new_key, ends)


def rotate_vxp_secret(
    session: Session, client: ClientSystem, *, secret_key: str, grace: timedelta = DEFAULT_GRACE
) -> Rotation:
    """A new VXP secret for ``client`` (which must have a VXP system id); the current one ends after ``grace``."""
    import secrets

    if not client.vxp_systemid or not client.vxp_secret_sealed:
        raise Conflict(f"{client.name} has no VXP system id (edoc client add --vxp-systemid)", code="no_vxp_secret")
    ends = _ends_at(grace)
    secret = secrets.token_urlsafe(32)
    client.vxp_previous_secret_sealed = client.vxp_secret_sealed if ends is not None else None
    client.vxp_previous_secret_expires_at = ends
    client.vxp_secret_sealed = seal_secret(secret_key, secret)
    session.flush()
    return Rotation(client.id, secret, ends)
