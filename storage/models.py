"""SQLAlchemy 2 models of the gateway's metadata and exchange log.

One delivery row per (package, recipient) is the inbox entry itself: the unique constraint on that pair is what
makes "delivered exactly once" hold even when a bus message is redelivered. The outbox row is written in the same
transaction as the package (transactional outbox), so nothing accepted is lost between the commit and the bus.
Exchange events are append-only. Times are stored as UTC.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AIPS",
    "AIP_COPIES",
    "ATTACHMENTS",
    "DELIVERIES",
    "EVENTS",
    "FIXITY_CHECKS",
    "OUTBOX",
    "PACKAGES",
    "REMOTE_SIGNINGS",
    "SMALL_BLOBS",
    "STATUS_ENTRIES",
    "Agency",
    "Aip",
    "AipCopy",
    "ApiKey",
    "AttachmentRow",
    "Base",
    "ClientAgency",
    "ClientSystem",
    "Delivery",
    "ExchangeEvent",
    "FixityCheck",
    "OutboxMessage",
    "Package",
    "RemoteSigning",
    "ReplayNonce",
    "RouteRule",
    "SmallBlob",
    "StatusEntry",
    "TlogCheckpoint",
    "TlogCounter",
    "TlogState",
    "TlogTile",
    "UplinkReceipt",
    "new_id",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A 32-hex-digit id whose prefix is the creation time in ms, so ids sort roughly by age."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


class Agency(Base):
    """An agency of the directory (mã định danh). ``local`` agencies have their inbox on this node."""

    __tablename__ = "agency"
    code: Mapped[str] = mapped_column(sa.String(13), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    parent_code: Mapped[str | None] = mapped_column(sa.String(13), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(100))
    telephone: Mapped[str | None] = mapped_column(sa.String(20))
    fax: Mapped[str | None] = mapped_column(sa.String(20))
    address: Mapped[str | None] = mapped_column(sa.String(500))
    website: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ClientSystem(Base):
    """A system that calls the gateway (a DMS, a clerk's workstation, an auditor, an admin tool)."""

    __tablename__ = "client_system"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    vxp_systemid: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    vxp_secret_sealed: Mapped[str | None] = mapped_column(sa.Text)
    # the VXP secret a rotation replaced, accepted until its expiry (migration 0005)
    vxp_previous_secret_sealed: Mapped[str | None] = mapped_column(sa.Text)
    vxp_previous_secret_expires_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    agencies: Mapped[list[ClientAgency]] = relationship(back_populates="client", cascade="all, delete-orphan")

    @property
    def agency_codes(self) -> list[str]:
        return sorted(link.agency_code for link in self.agencies)


class ClientAgency(Base):
    """Which agencies a client system may act for."""

    __tablename__ = "client_agency"
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("client_system.id", ondelete="CASCADE"), primary_key=True)
    agency_code: Mapped[str] = mapped_column(sa.ForeignKey("agency.code"), primary_key=True)
    client: Mapped[ClientSystem] = relationship(back_populates="agencies")


class ApiKey(Base):
    """An API key, stored as the SHA-256 of the key (keys are 256-bit random, so a fast hash is enough)."""

    __tablename__ = "api_key"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("client_system.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # a key replaced by a rotation works until then (migration 0005)
    client: Mapped[ClientSystem] = relationship(lazy="joined")


_PG_CODE = ("(coalesce(summary ->> 'code_number', '') || '/' || coalesce(summary ->> 'code_notation', '')) "
            "gin_trgm_ops")


class Package(Base):
    """An accepted edXML package (``kind`` edoc or status); its bytes live in the object store."""

    __tablename__ = "package"
    __table_args__ = (
        sa.UniqueConstraint("from_code", "idempotency_key"),
        # A new document (BussinessDocType 0) is one per (sender, DocumentId), whatever the idempotency key:
        # ``document_key`` is its DocumentId, NULL for statuses, recalls, updates and replacements (migration 0005).
        sa.Index("uq_package_document_key", "from_code", "document_key", unique=True),
        # A native header without a date names the day of its first submit (service/exchange/identity.py).
        sa.Index("ix_package_request", "from_code", "request_sha256"),
        # Free-text auditor search (PostgreSQL with pg_trgm; migration 0007, which skips them without the extension)
        sa.Index("ix_package_subject_trgm", sa.text("subject gin_trgm_ops"), postgresql_using="gin"),
        sa.Index("ix_package_code_trgm", sa.text(_PG_CODE), postgresql_using="gin"),
    )
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(sa.String(8))
    document_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    from_code: Mapped[str] = mapped_column(sa.String(13), index=True)
    business_type: Mapped[int] = mapped_column(default=0)
    subject: Mapped[str | None] = mapped_column(sa.String(500))
    status_code: Mapped[str | None] = mapped_column(sa.String(2))
    response_for_id: Mapped[str | None] = mapped_column(sa.ForeignKey("package.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    request_sha256: Mapped[str] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str] = mapped_column(sa.String(200))
    document_key: Mapped[str | None] = mapped_column(sa.String(100))
    content_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    submitted_by: Mapped[str | None] = mapped_column(sa.ForeignKey("client_system.id"))
    channel: Mapped[str] = mapped_column(sa.String(16), default="api")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    signature: Mapped[dict[str, Any]] = mapped_column(default=dict)
    oddities: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="package", order_by="Delivery.to_code")
    attachments: Mapped[list[AttachmentRow]] = relationship(order_by="AttachmentRow.position")


class AttachmentRow(Base):
    """One attachment of a package, stored decoded as its own blob so it can be served without re-parsing."""

    __tablename__ = "attachment"
    package_id: Mapped[str] = mapped_column(sa.ForeignKey("package.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(500))
    content_type: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    blob_sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    # None (nothing to verify) is stored as SQL NULL on both databases, not as a JSON null
    verification: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))


class Delivery(Base):
    """One recipient of one package; the row *is* the recipient's inbox entry once ``state`` is delivered.

    States: pending → delivered → acked; pending → dead after the retry schedule. ``business_status`` is the
    recipient's latest status code (01…06, 02) and ``recall_state`` tracks QĐ 28/2018 recall/update/replace.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("package_id", "to_code"),
        sa.Index("ix_delivery_inbox", "to_code", "state", "delivered_at"),
        sa.Index("ix_delivery_to_package", "to_code", "package_id"),
    )
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(sa.ForeignKey("package.id", ondelete="CASCADE"))
    to_code: Mapped[str] = mapped_column(sa.String(13))
    route: Mapped[str] = mapped_column(sa.String(64), default="local")
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    business_status: Mapped[str | None] = mapped_column(sa.String(2))
    recall_state: Mapped[str | None] = mapped_column(sa.String(16))
    recall_kind: Mapped[str | None] = mapped_column(sa.String(8))
    remote_doc_id: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    package: Mapped[Package] = relationship(back_populates="deliveries")


class StatusEntry(Base):
    """The business-status history of a document, per recipient, in the order it happened."""

    __tablename__ = "status_entry"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    package_id: Mapped[str] = mapped_column(sa.ForeignKey("package.id", ondelete="CASCADE"), index=True)
    agency_code: Mapped[str] = mapped_column(sa.String(13))
    code: Mapped[str] = mapped_column(sa.String(2))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    staff: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    status_package_id: Mapped[str | None] = mapped_column(sa.ForeignKey("package.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeEvent(Base):
    """Append-only exchange log: every accepted, refused, delivered, acknowledged and status event."""

    __tablename__ = "exchange_event"
    # Each filter of the auditor search pages in (at, id) order (storage/events.py, migration 0008_event_search); the
    # expression index on detail.status_code and the trigram indexes live in that migration only.
    __table_args__ = (
        sa.Index("ix_event_at_id", "at", "id"),
        sa.Index("ix_event_kind_at", "kind", "at", "id"),
        sa.Index("ix_event_agency_at", "agency_code", "at", "id"),
        sa.Index("ix_event_document_at", "document_id", "at", "id"),
        sa.Index("ix_event_package_at", "package_id", "at", "id"),
        sa.Index("ix_event_status_at", sa.text("(detail ->> 'status_code')"), "at", "id"),
        # The events not yet in the transparency log, in id order: what the log sequencer assigns indexes to on
        # PostgreSQL (migration 0009_tlog).
        sa.Index("ix_exchange_event_unlogged", "id", postgresql_where=sa.text("leaf_index IS NULL"),
                 sqlite_where=sa.text("leaf_index IS NULL")),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(32))
    package_id: Mapped[str | None] = mapped_column(sa.String(32))
    document_id: Mapped[str | None] = mapped_column(sa.String(100))
    agency_code: Mapped[str | None] = mapped_column(sa.String(13))
    actor: Mapped[str | None] = mapped_column(sa.String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Position of the event in the transparency log (storage/tlog), without a gap: on SQLite set by a trigger in the
    #: transaction that inserts the event (``tlog_counter``), on PostgreSQL by the log sequencer (migration 0009_tlog).
    leaf_index: Mapped[int | None] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), index=True, unique=True
    )


class TlogCounter(Base):
    """The next leaf index of the transparency log: one row, advanced by SQLite's ``exchange_event`` insert trigger."""

    __tablename__ = "tlog_counter"
    id: Mapped[int] = mapped_column(primary_key=True)
    next_index: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))


class TlogState(Base):
    """The integrated tree (one row): how many leaves are in the tiles, its root and the latest signed checkpoint."""

    __tablename__ = "tlog_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    root: Mapped[str] = mapped_column(sa.String(64))
    checkpoint: Mapped[str | None] = mapped_column(sa.Text)
    cosigned: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TlogCheckpoint(Base):
    """Every signed checkpoint the log cut (the sequence a witness or an audit checks for consistency)."""

    __tablename__ = "tlog_checkpoint"
    size: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    root: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.Text)
    cosigned: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TlogTile(Base):
    """Where a tile or entry bundle (C2SP tlog-tiles path) is in the content-addressed object store."""

    __tablename__ = "tlog_tile"
    path: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]


class OutboxMessage(Base):
    """A message waiting for the bus (transactional outbox; with the database queue it *is* the bus)."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_ready", "done_at", "available_at"),
        # The messages not yet completed, in id order: what every claim round reads (ORDER BY id LIMIT n). Without
        # it the claim walks the primary key from the oldest message and filters out every completed one still
        # kept (outbox_retention_days), so each round grows with the history (migration 0004).
        sa.Index(
            "ix_outbox_pending", "id",
            postgresql_where=sa.text("done_at IS NULL"), sqlite_where=sa.text("done_at IS NULL"),
        ),
        # What a broker bus's relay has still to publish (migration 0011_outbox_relay).
        sa.Index(
            "ix_outbox_unpublished", "id",
            postgresql_where=sa.text("done_at IS NULL AND published_at IS NULL"),
            sqlite_where=sa.text("done_at IS NULL AND published_at IS NULL"),
        ),
        sa.Index("ix_outbox_dead", "dead_at"),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(sa.String(64))
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    published_at: Mapped[datetime | None]  # the broker confirmed it (amqp:// relay); NULL with db://
    dead_at: Mapped[datetime | None]  # dead-lettered (done_at is set too); a requeue clears both


class ReplayNonce(Base):
    """Signatures of authenticated calls already seen (VXP replay protection), kept until they expire."""

    __tablename__ = "replay_nonce"
    systemid: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    signature: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SmallBlob(Base):
    """A blob small enough to live in the database (storage/blobs.py): content-addressed like the object store's,
    written in the same transaction as the rows that reference it. Never updated or deleted."""

    __tablename__ = "small_blob"
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RouteRule(Base):
    """A routing rule set through the admin API: agency-code pattern → ``local`` or an uplink name.

    These rules come before the settings' rules (first match wins); ``position`` orders them.
    """

    __tablename__ = "route_rule"
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    pattern: Mapped[str] = mapped_column(sa.String(32))
    target: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UplinkReceipt(Base):
    """A package taken in from an uplink, by the remote's docId: fetched and submitted once however often listed.

    ``outcome`` is ``accepted`` (``package_id`` set) or ``refused`` (``error`` says why); ``acked_at`` is when the
    remote was told (updateStatus done/fail).
    """

    __tablename__ = "uplink_receipt"
    uplink: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    remote_doc_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    package_id: Mapped[str | None] = mapped_column(sa.String(32))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acked_at: Mapped[datetime | None]


class RemoteSigning(Base):
    """A PDF signature waiting for an official's confirmation at a remote-signing provider (issue 23).

    ``state`` is the prepared signature's JSON (signing/remote/interrupted.py ``PendingState.data``), the prepared
    PDF is a blob (``prepared_sha256``); the provider's transaction id is ``provider_tx``. ``status``: starting
    (row written, provider not yet asked) → pending → done (``result_sha256`` is the signed PDF) | rejected |
    expired | failed (``error_code``). A poller claims a row (``claimed_by``/``claimed_until``) so that one
    process at a time asks the provider and finishes the PDF.
    """

    __tablename__ = "remote_signing"
    __table_args__ = (sa.Index("ix_remote_signing_due", "status", "next_poll_at"),)
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    provider: Mapped[str] = mapped_column(sa.String(64))
    credential_id: Mapped[str] = mapped_column(sa.String(300))
    provider_tx: Mapped[str | None] = mapped_column(sa.String(400))
    status: Mapped[str] = mapped_column(sa.String(16), default="starting")
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prepared_sha256: Mapped[str] = mapped_column(sa.String(64))
    prepared_size: Mapped[int]
    result_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    result_size: Mapped[int | None]
    client_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    webhook_url: Mapped[str | None] = mapped_column(sa.String(2000))
    webhook_state: Mapped[str | None] = mapped_column(sa.String(16))
    polls: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_until: Mapped[datetime | None]
    next_poll_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


# The plain tables, for hot paths written in SQLAlchemy Core: a statement built from table columns skips the ORM's
# compile and loading layers, which cost about as much as the rest of a small statement's round trip in Python.
# Use them where nothing needs mapped objects (no identity map, no relationships, no unit of work).
PACKAGES = cast(sa.Table, Package.__table__)
ATTACHMENTS = cast(sa.Table, AttachmentRow.__table__)
DELIVERIES = cast(sa.Table, Delivery.__table__)
STATUS_ENTRIES = cast(sa.Table, StatusEntry.__table__)
EVENTS = cast(sa.Table, ExchangeEvent.__table__)
OUTBOX = cast(sa.Table, OutboxMessage.__table__)
SMALL_BLOBS = cast(sa.Table, SmallBlob.__table__)
REMOTE_SIGNINGS = cast(sa.Table, RemoteSigning.__table__)


class Aip(Base):
    """An archival information package of one document (issue 20; service/archive/, migration 0010_archive).

    ``state``: ``pending`` (the sweep queued it), ``complete`` (every copy written and recorded). ``complete`` (the
    flag): every recipient reached a terminal state; false when archived after ``EDOC_ARCHIVE_AFTER_DAYS``.
    ``retention``: the thời hạn bảo quản as written in the metadata ("Vĩnh viễn", "10 năm").
    """

    __tablename__ = "aip"
    id: Mapped[str] = mapped_column(sa.String(45), primary_key=True)  # urn:uuid:…
    package_id: Mapped[str] = mapped_column(sa.ForeignKey("package.id"), unique=True)
    document_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    complete: Mapped[bool]
    retention: Mapped[str] = mapped_column(sa.String(30))
    retain_until: Mapped[datetime | None]
    permanent: Mapped[bool]
    manifest_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]


class AipCopy(Base):
    """One copy of an AIP on one archive store (its URL without credentials): every file's path, SHA-256, size."""

    __tablename__ = "aip_copy"
    aip_id: Mapped[str] = mapped_column(sa.ForeignKey("aip.id", ondelete="CASCADE"), primary_key=True)
    store_url: Mapped[str] = mapped_column(sa.String(500), primary_key=True)
    position: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(16))
    files: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    checked_at: Mapped[datetime | None] = mapped_column(index=True)


class FixityCheck(Base):
    """One fixity audit of one copy: ``outcome`` ok, damaged (found bad, not repaired) or repaired."""

    __tablename__ = "fixity_check"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    aip_id: Mapped[str] = mapped_column(sa.ForeignKey("aip.id", ondelete="CASCADE"), index=True)
    store_url: Mapped[str] = mapped_column(sa.String(500))
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(sa.String(16))
    files_checked: Mapped[int]
    bytes_checked: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    problems: Mapped[list[Any]]


AIPS = cast(sa.Table, Aip.__table__)
AIP_COPIES = cast(sa.Table, AipCopy.__table__)
FIXITY_CHECKS = cast(sa.Table, FixityCheck.__table__)
