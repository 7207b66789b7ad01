"""What makes two submits the same document (issue 17, item 1).

A document is identified by its sender and its DocumentId (STANDARDS §2: ``{OrganId},{yyyy/MM/dd},{số}/{ký
hiệu}``; NĐ 30/2020 Điều 15: a number is used once per issuing agency and year). So for a *new* document
(BussinessDocType 0) the pair (sender agency, DocumentId) is unique in the database (``package.document_key``,
migration 0005), whatever the idempotency key and whatever the channel (native multipart, native XML, VXP).
Updates, replacements and recalls (types 1/2/3) reuse or point at the original's DocumentId; they go through
their own business types and are not constrained by it. Their resends are caught by their idempotency key, which
without a client key ends with their content digest (submit._key_by_content): a second, different update of a
document is a new package, a resend of the first one (in whatever bytes) its replay.

A second submit under a DocumentId already accepted is either

- **a resend** (a replay: the first answer, no new package), when it carries *the same content*; or
- **a conflict** (409 ``document_id_conflict``) otherwise: a change to a sent document is an update (type 2)
  or a replacement (type 3), never a second document under the same id.

*The same content* is :func:`content_digest`: the SHA-256 of the package as this gateway writes it canonically
(schemas.edxml's writer), **without** its TraceHeaders (each relay, this node included, appends one) and without
any XML signature (the sender's or this node's: signatures are not part of the parsed values), with each
attachment's bytes replaced by their SHA-256. So the header (From, To, DocumentId, code, subject, dates, signer,
…), the Bussiness block, the manifest (content ids, names, types, descriptions) and the attachments' bytes count;
the whitespace and the order of namespace declarations of the XML as sent, the relay trace and the signatures do
not. A package fetched back from this node (``GET …/edxml``) and submitted again is therefore a resend of the
document it was built from. Rows accepted before migration 0005 have no digest; they compare by request digest.

The native multipart submit derives the DocumentId from its JSON header (From, ``date``, number, notation). A
header without ``date`` takes the day of its *first* submit: :func:`first_day` finds an earlier document of the
same sender from the same request (header JSON and files, the request digest), so a resend the next day derives
the same DocumentId and is a replay, not a second document dated today.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from schemas.edxml import BusinessDocType, DocumentId, EdocPackage, build_edoc
from schemas.errors import SchemaError
from storage.models import PACKAGES

__all__ = ["attachment_digests", "content_digest", "content_digest_of", "document_key", "envelope_of", "first_day"]


def document_key(pkg: EdocPackage) -> str | None:
    """The DocumentId a new document (type 0) claims for its sender; ``None`` for an update/replace/recall."""
    if pkg.business is not None and pkg.business.doc_type != BusinessDocType.NEW:
        return None
    return str(pkg.header.document_id) if pkg.header.document_id else None


# schemas.edxml's writer puts the envelope (header, trace, Bussiness, manifest) first and the attachments after it,
# one TraceHeader element per block of lines; its text never holds a raw '<'.
_ENVELOPE_END = b"</edXML:edXMLEnvelope>"
_TRACE_OPEN, _TRACE_CLOSE = b"<edXML:TraceHeader>", b"</edXML:TraceHeader>\n"


def content_digest(pkg: EdocPackage, attachment_sha256: Sequence[str]) -> str:
    """The SHA-256 (hex) of ``pkg``'s content as the module docstring defines it; ``attachment_sha256`` holds the
    SHA-256 of each attachment's bytes, in the package's order. Builds the envelope: about 0.3 ms, so a submit
    takes the digest from the envelope it writes anyway (:func:`content_digest_of`), and this is for resends."""
    bare = replace(pkg, trace=(), attachments=tuple(replace(a, data=b"") for a in pkg.attachments))
    return content_digest_of(envelope_of(build_edoc(bare, strict=False)), attachment_sha256)


def content_digest_of(envelope: bytes, attachment_sha256: Sequence[str]) -> str:
    """:func:`content_digest` from the envelope schemas.edxml's writer wrote for the package (:func:`envelope_of`),
    with any TraceHeaders in it: they are taken out here."""
    digest = hashlib.sha256(_without_traces(envelope))
    for sha in attachment_sha256:
        digest.update(b"\nattachment sha256 " + sha.encode("ascii"))
    return digest.hexdigest()


def _without_traces(envelope: bytes) -> bytes:
    """``envelope`` less its TraceHeader elements, each with its line's indentation (plain searches: a regular
    expression that must try every position costs ten times more on a 3 kB envelope)."""
    parts, at = [], 0
    while (start := envelope.find(_TRACE_OPEN, at)) >= 0:
        end = envelope.find(_TRACE_CLOSE, start)
        if end < 0:
            break
        parts.append(envelope[at : envelope.rfind(b"\n", at, start) + 1])
        at = end + len(_TRACE_CLOSE)
    parts.append(envelope[at:])
    return b"".join(parts)


def envelope_of(built: bytes | Path) -> bytes:
    """The leading part of a package the writer built (bytes, or a file read until it is found), through the end of
    its envelope: everything but the attachments' encoded bytes (and a signature appended after them)."""
    if isinstance(built, bytes):
        end = built.find(_ENVELOPE_END)
        return built[: end + len(_ENVELOPE_END)] if end >= 0 else built
    head = b""
    with open(built, "rb") as fh:
        while chunk := fh.read(64 * 1024):
            head += chunk
            end = head.find(_ENVELOPE_END, max(0, len(head) - len(chunk) - len(_ENVELOPE_END)))
            if end >= 0:
                return head[: end + len(_ENVELOPE_END)]
    return head


def attachment_digests(pkg: EdocPackage, files: Mapping[str, Path] | None = None) -> list[str]:
    """The SHA-256 of each attachment's bytes: its ``data``, or the file ``files`` names for its content id."""
    out = []
    for att in pkg.attachments:
        path = (files or {}).get(att.content_id)
        if path is None:
            out.append(hashlib.sha256(att.data).hexdigest())
            continue
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
        out.append(digest.hexdigest())
    return out


_FIRST = (
    sa.select(PACKAGES.c.document_id)
    .where(
        PACKAGES.c.from_code == sa.bindparam("from_code"),
        PACKAGES.c.request_sha256 == sa.bindparam("request_sha256"),
        PACKAGES.c.document_key.is_not(None),
    )
    .limit(1)
)


def first_day(session: Session, from_code: str, request_sha256: str) -> dt.date | None:
    """The date of the DocumentId under which ``from_code`` first submitted this request, if it did."""
    found = session.execute(_FIRST, {"from_code": from_code, "request_sha256": request_sha256}).scalar()
    if found is None:
        return None
    try:
        return DocumentId.parse(found).date
    except SchemaError:
        return None
