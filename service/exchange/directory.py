"""The agency directory, client systems and their API keys.

API keys are ``edk_`` + 43 characters of URL-safe randomness (256 bits). Only their SHA-256 is stored; the key is
shown once at creation. A key belongs to a client system with one role and the agency codes it may act for.

VXP secrets (STANDARDS.md §8) cannot be hashed: the node must recompute the caller's HMAC-SHA256, so it needs the
secret itself. They are stored *sealed*: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
``EDOC_SECRET_KEY`` with HKDF-SHA256 (info ``edoc-gateway/vxp-secret/v1``). A database dump alone does not reveal
them; changing ``EDOC_SECRET_KEY`` makes every sealed secret unreadable, so rotate by issuing new secrets
(``edoc client add --vxp-systemid``). The role ``node`` is a peer gateway or the national axis (service/vxp).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from schemas.agency import AgencyCode
from schemas.edxml import Organization
from service.exchange.errors import Conflict, Invalid, NotFound, Unauthorized
from service.observability import context as observability_context
from storage.models import Agency, ApiKey, ClientAgency, ClientSystem, utcnow

__all__ = [
    "ROLES",
    "AgencyCache",
    "AgencyEntry",
    "AgencyInput",
    "Caller",
    "CallerCache",
    "ImportReport",
    "authenticate",
    "create_client",
    "import_agencies",
    "list_agencies",
    "organization_of",
    "parse_agency_file",
    "seal_secret",
    "unseal_secret",
    "upsert_agency",
]

ROLES = ("dms", "clerk", "auditor", "admin", "node")
KEY_PREFIX = "edk_"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated client system."""

    client_id: str
    name: str
    role: str
    agencies: frozenset[str]

    def may_act_for(self, code: str) -> bool:
        return code in self.agencies


@dataclass(frozen=True, slots=True)
class AgencyInput:
    code: str
    name: str
    parent: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class CallerCache:
    """Recently authenticated callers, by key hash, for ``ttl`` seconds (0 disables caching).

    An API key is checked against the database at most once per ``ttl`` per process, which takes a query off every
    request; the price is that revoking a key takes effect within ``ttl`` seconds on every replica.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Caller | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        bind_caller(entry[1])
        return entry[1]

    def put(self, key_hash: str, caller: Caller) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + self.ttl, caller)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def organization_of(agency: Agency) -> Organization:
    """The edXML From/To block of a directory entry."""
    return Organization(
        organ_id=agency.code,
        organ_name=agency.name,
        organization_in_charge=agency.name,
        organ_add=agency.address,
        email=agency.email,
        telephone=agency.telephone,
        fax=agency.fax,
        website=agency.website,
    )


@dataclass(frozen=True, slots=True)
class AgencyEntry:
    """What a submit needs of a directory entry, detached from any session."""

    code: str
    active: bool
    organization: Organization


# Bumped whenever a session of this process writes an agency row (and again when it commits), so every
# AgencyCache of the process forgets what it holds: a directory change made here is seen at once.
_directory_generation = [0]


def _directory_written(*_args: Any) -> None:
    _directory_generation[0] += 1
    if _args and isinstance(_args[-1], Agency):
        session = object_session(_args[-1])
        if session is not None:
            session.info["edoc_directory_written"] = True


def _after_commit(session: Session) -> None:
    if session.info.pop("edoc_directory_written", False):
        _directory_generation[0] += 1


for _event in ("after_insert", "after_update", "after_delete"):
    event.listen(Agency, _event, _directory_written)
event.listen(Session, "after_commit", _after_commit)


class AgencyCache:
    """Directory entries by code, for ``ttl`` seconds (0 disables caching), for the checks and From/To blocks of
    submit: a submit names its sender and recipients several times, and a busy node submits to the same agencies
    all day. Only entries that exist are kept (a new agency is seen at once); a change made by this process
    clears the cache; a change made by another process (another replica, ``edoc agency``) is seen within ``ttl``
    seconds, the same bargain as :class:`CallerCache`.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, AgencyEntry]] = {}
        self._generation = _directory_generation[0]
        self._lock = threading.Lock()

    def lookup(self, session: Session, codes: Sequence[str]) -> dict[str, AgencyEntry]:
        """The entries of ``codes`` that are in the directory (active or not), by code."""
        found: dict[str, AgencyEntry] = {}
        now = time.monotonic()
        if self._generation != _directory_generation[0]:
            self.clear()
        for code in codes:
            entry = self._entries.get(code)
            if entry is not None and entry[0] >= now:
                found[code] = entry[1]
        missing = [code for code in dict.fromkeys(codes) if code not in found]
        if missing:
            generation = _directory_generation[0]
            rows = session.execute(sa.select(Agency).where(Agency.code.in_(missing))).scalars().all()
            fresh = {row.code: AgencyEntry(row.code, row.active, organization_of(row)) for row in rows}
            found.update(fresh)
            if self.ttl > 0 and fresh:
                with self._lock:
                    if generation == _directory_generation[0]:  # not read across a change made meanwhile
                        if len(self._entries) > 10_000:
                            self._entries.clear()
                        self._entries.update({code: (now + self.ttl, e) for code, e in fresh.items()})
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation = _directory_generation[0]


def authenticate(session: Session, key: str, cache: CallerCache | None = None) -> Caller:
    """The caller owning an API key; :class:`Unauthorized` for an unknown, revoked or inactive one."""
    hashed = hash_key(key)
    cached = cache.get(hashed) if cache is not None else None
    if cached is not None:
        return cached
    caller = _authenticate(session, key)
    bind_caller(caller)
    if cache is not None:
        cache.put(hashed, caller)
    return caller


def bind_caller(caller: Caller) -> None:
    """Name the caller in the request's log lines: its client system and its agencies (the first three)."""
    codes = sorted(caller.agencies)
    agency = ",".join(codes[:3]) + (f",+{len(codes) - 3}" if len(codes) > 3 else "")
    observability_context.bind(client=caller.client_id, agency=agency or None)


def _authenticate(session: Session, key: str) -> Caller:
    if not key.startswith(KEY_PREFIX):
        raise Unauthorized("not an edoc-gateway API key", code="invalid_api_key")
    row = session.execute(sa.select(ApiKey).where(ApiKey.key_hash == hash_key(key))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.client.active:
        raise Unauthorized("unknown or revoked API key", code="invalid_api_key")
    if row.expires_at is not None and row.expires_at <= utcnow():  # replaced by a rotation, grace over
        raise Unauthorized("unknown or revoked API key", code="invalid_api_key")
    client = row.client
    return Caller(client.id, client.name, client.role, frozenset(client.agency_codes))


def _agency_values(item: AgencyInput) -> dict[str, Any]:
    code = str(AgencyCode.parse(item.code))
    parent = str(AgencyCode.parse(item.parent)) if item.parent else None
    if not item.name.strip():
        raise Invalid(f"agency {code} has no name", code="invalid_agency")
    return {
        "code": code,
        "name": item.name.strip()[:200],
        "parent_code": parent,
        "email": item.email,
        "telephone": item.telephone,
        "fax": item.fax,
        "address": item.address,
    }


def upsert_agency(session: Session, item: AgencyInput) -> str:
    """Insert or update one agency; returns ``added``, ``changed`` or ``unchanged``."""
    values = _agency_values(item)
    row = session.get(Agency, values["code"])
    if row is None:
        session.add(Agency(**values))
        return "added"
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if not row.active:
        row.active = True
        changed = True
    return "changed" if changed else "unchanged"


def import_agencies(session: Session, items: Iterable[AgencyInput]) -> ImportReport:
    outcome: dict[str, list[str]] = {"added": [], "changed": [], "unchanged": []}
    for item in items:
        outcome[upsert_agency(session, item)].append(str(AgencyCode.parse(item.code)))
    return ImportReport(*(tuple(outcome[k]) for k in ("added", "changed", "unchanged")))


def parse_agency_file(data: bytes, *, fmt: str) -> list[AgencyInput]:
    """Agencies from CSV (header ``code,name,parent[,email,telephone,fax,address]``) or a JSON list of objects."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("the agency file is not UTF-8", code="invalid_agency_file") from exc
    if fmt == "json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"the agency file is not JSON: {exc}", code="invalid_agency_file") from exc
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise Invalid("the agency JSON must be a list of objects", code="invalid_agency_file")
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    items = []
    for number, row in enumerate(rows, start=1):
        if not row.get("code") or not row.get("name"):
            raise Invalid(f"agency record {number} lacks code or name", code="invalid_agency_file")
        items.append(
            AgencyInput(
                code=str(row["code"]).strip(),
                name=str(row["name"]),
                parent=(str(row.get("parent") or row.get("pcode") or "").strip() or None),
                email=row.get("email") or row.get("mail") or None,
                telephone=row.get("telephone") or row.get("mobile") or None,
                fax=row.get("fax") or None,
                address=row.get("address") or None,
            )
        )
    return items


def list_agencies(session: Session, *, prefix: str | None = None) -> Sequence[Agency]:
    query = sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.code)
    if prefix:
        query = query.where(Agency.code.like(f"%{prefix}"))
    return session.execute(query).scalars().all()


def create_client(
    session: Session, *, name: str, role: str, agencies: Sequence[str], vxp_systemid: str | None = None
) -> tuple[ClientSystem, str]:
    """Create a client system with one API key; returns the row and the key (shown once, stored hashed)."""
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}; one of {', '.join(ROLES)}", code="invalid_role")
    if session.execute(sa.select(ClientSystem).where(ClientSystem.name == name)).scalar_one_or_none():
        raise Conflict(f"a client system named {name!r} exists", code="client_exists")
    codes = [str(AgencyCode.parse(code)) for code in agencies]
    for code in codes:
        if session.get(Agency, code) is None:
            raise NotFound(f"agency {code} is not in the directory", code="unknown_agency")
    client = ClientSystem(name=name, role=role, vxp_systemid=vxp_systemid)
    client.agencies = [ClientAgency(agency_code=code) for code in codes]
    session.add(client)
    session.flush()
    return client, issue_key(session, client)


def issue_key(session: Session, client: ClientSystem) -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(client_id=client.id, key_hash=hash_key(key), prefix=key[:10]))
    return key


def revoke_keys(session: Session, client_id: str) -> int:
    result = session.execute(
        sa.update(ApiKey).where(ApiKey.client_id == client_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _fernet(secret_key: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"edoc-gateway/vxp-secret/v1")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8"))))


def seal_secret(secret_key: str, secret: str) -> str:
    """``secret`` encrypted under a key derived from ``secret_key`` (see the module docstring)."""
    return _fernet(secret_key).encrypt(secret.encode("utf-8")).decode("ascii")


def unseal_secret(secret_key: str, sealed: str) -> str:
    """The secret sealed by :func:`seal_secret`; :class:`Invalid` if it was sealed under another key."""
    try:
        return _fernet(secret_key).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise Invalid("a VXP secret cannot be unsealed: EDOC_SECRET_KEY changed?", code="secret_unreadable") from exc


def set_vxp_secret(session: Session, client: ClientSystem, *, systemid: str, secret_key: str) -> str:
    """Give ``client`` the VXP system id ``systemid`` and a new random secret; returns it (shown once)."""
    taken = session.execute(sa.select(ClientSystem).where(ClientSystem.vxp_systemid == systemid)).scalar_one_or_none()
    if taken is not None and taken.id != client.id:
        raise Conflict(f"the VXP system id {systemid!r} belongs to {taken.name}", code="systemid_exists")
    secret = secrets.token_urlsafe(32)
    client.vxp_systemid = systemid
    client.vxp_secret_sealed = seal_secret(secret_key, secret)
    return secret
