"""The two kinds of edXML package: a document (EdocPackage) and a status notification (StatusPackage).

STANDARDS §2 (document: MessageHeader, TraceHeaderList with Bussiness, manifest and attachments) and §3 (status:
the same envelope, header only). Signatures are not part of these values: ``signing/`` adds and checks them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from schemas.edxml.codes import StatusCode
from schemas.edxml.model import Business, MessageHeader, Organization, ResponseFor, StaffInfo, TraceHeader

__all__ = ["Attachment", "EdocPackage", "StatusPackage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """One attached file, carried base64 in AttachmentEncoded (often a zip: it stays a zip).

    ``content_id`` is the ``cid:…`` that ties the attachment to its manifest Reference. When the package is
    written with ``write_edoc(..., attachment_files=…)`` or parsed with an attachment sink, ``data`` is ``b""``
    and the content lives in the file / sink.
    """

    content_id: str
    name: str
    content_type: str | None = None
    description: str | None = None
    data: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class EdocPackage:
    """A document package: header, relay trace, business block and attachments in document order."""

    header: MessageHeader
    trace: tuple[TraceHeader, ...] = ()
    business: Business | None = None
    attachments: tuple[Attachment, ...] = ()

    def with_trace(self, trace: TraceHeader) -> EdocPackage:
        """A copy with ``trace`` appended, as each relay does (STANDARDS §2, §8)."""
        return replace(self, trace=(*self.trace, trace))


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusPackage:
    """A status notification about a document (STANDARDS §3); ``status_code`` is the wire's text ("01")."""

    from_: Organization
    response_for: ResponseFor | None
    status_code: str
    timestamp: dt.datetime | None
    staff_info: StaffInfo | None = None
    description: str | None = None

    @property
    def status(self) -> StatusCode | None:
        """The code as :class:`StatusCode`, or ``None`` for a code outside STANDARDS §3."""
        try:
            return StatusCode(self.status_code)
        except ValueError:
            return None
