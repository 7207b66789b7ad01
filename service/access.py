"""Who may do what: the role matrix of docs/roles.md (issue 17, item 6), enforced here and nowhere else.

Two questions, asked in this order by every route and use case that serves or changes something:

1. **May this role do this at all?** :func:`require` — :data:`MATRIX` maps each :class:`Op` to the roles that
   may perform it; any other role gets 403 ``wrong_role`` *before* anything is looked up (so the refusal says
   nothing about what exists).
2. **For a document: as whom?** :func:`document_reader` — the caller acts for the sender's agency, for a
   recipient's agency, or is an auditor; anyone else gets exactly the answer a missing package gets (404
   ``unknown_package``: no existence oracle, item 7). An auditor reads a package's *content* (its bytes and
   attachments) only with a recorded reason (:func:`require_reason`; the route writes it to the exchange log as a
   ``content_read`` event), and sees metadata, the exchange log and proofs (verification reports) without one.

The rule behind the matrix (README: "a package's bytes and attachments go to sender and recipients only"; NĐ
30/2020 Điều 21 on who handles an incoming document): content belongs to the parties of the exchange; auditors
check the exchange, and look at content only for a stated reason that is itself audited; admins run the node
(directory, client systems, routes), not the correspondence. ``node`` is a peer gateway or the national axis,
acting through VXP for the agencies routed to it.

A recipient sees its *own* delivery of a document: its state, its business statuses and their comments, not
the other recipients' (:func:`sees_every_delivery`), unless the sender chose ``share_statuses`` at submit.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from service.exchange.directory import Caller
from service.exchange.errors import Forbidden, NotFound

__all__ = [
    "MATRIX",
    "REASON_MAX",
    "REASON_MIN",
    "Op",
    "Reader",
    "document_reader",
    "require",
    "require_reason",
    "sees_every_delivery",
]


class Op(StrEnum):
    """The operations of the matrix (docs/roles.md), one per row."""

    SUBMIT = "submit"
    INBOX = "inbox"
    RECORD = "record"
    CONTENT = "content"
    PROOF = "proof"
    ACK = "ack"
    STATUS = "status"
    RECALL = "recall"
    EVENTS = "events"
    EVENTS_ALL = "events_all"
    DIRECTORY_READ = "directory_read"
    DIRECTORY_WRITE = "directory_write"
    CLIENTS = "clients"
    ROUTES_READ = "routes_read"
    ROUTES_WRITE = "routes_write"
    VERIFY = "verify"
    SIGN = "sign"
    DEAD_LETTERS = "dead_letters"


_PARTIES = frozenset({"dms", "clerk", "node"})
_EVERYONE = frozenset({"dms", "clerk", "auditor", "admin", "node"})

#: Which roles may perform each operation at all (step 1). Document operations then also need the caller to be a
#: party of the document, or an auditor where the table says so (step 2).
MATRIX: dict[Op, frozenset[str]] = {
    Op.SUBMIT: _PARTIES,
    Op.INBOX: _PARTIES,
    Op.RECORD: _PARTIES | {"auditor"},
    Op.CONTENT: _PARTIES | {"auditor"},  # auditors: with a recorded reason
    Op.PROOF: _PARTIES | {"auditor"},
    Op.ACK: _PARTIES,
    Op.STATUS: _PARTIES,
    Op.RECALL: _PARTIES,
    Op.EVENTS: _PARTIES,  # their own agencies' events
    Op.EVENTS_ALL: frozenset({"auditor", "admin"}),
    Op.DIRECTORY_READ: _EVERYONE,
    Op.DIRECTORY_WRITE: frozenset({"admin"}),
    Op.CLIENTS: frozenset({"admin"}),
    Op.ROUTES_READ: frozenset({"auditor", "admin"}),
    Op.ROUTES_WRITE: frozenset({"admin"}),
    Op.VERIFY: _EVERYONE,
    Op.SIGN: frozenset({"clerk", "admin"}),
    Op.DEAD_LETTERS: frozenset({"admin"}),
}

#: Operations an auditor may perform on any document (no party needed); CONTENT needs a reason besides.
_AUDITOR_READS = frozenset({Op.RECORD, Op.CONTENT, Op.PROOF})

REASON_MIN, REASON_MAX = 10, 500

Reader = Literal["sender", "recipient", "auditor"]


def require(caller: Caller, op: Op) -> None:
    """Step 1: refuse a role the matrix does not allow for ``op`` (403 ``wrong_role``)."""
    allowed = MATRIX[op]
    if caller.role not in allowed:
        roles = " or ".join(sorted(allowed))
        raise Forbidden(f"{op.value} needs the role {roles}; the caller is {caller.role}", code="wrong_role")


def document_reader(caller: Caller, op: Op, package_id: str, from_code: str, to_codes: Iterable[str]) -> Reader:
    """Step 2 for a document: as whom the caller may perform ``op`` on it, or the 404 of a missing package."""
    require(caller, op)
    if caller.may_act_for(from_code):
        return "sender"
    if any(caller.may_act_for(code) for code in to_codes):
        return "recipient"
    if caller.role == "auditor" and op in _AUDITOR_READS:
        return "auditor"
    raise NotFound(f"no package {package_id}", code="unknown_package")


def require_reason(reader: Reader, reason: str | None) -> str | None:
    """The reason an auditor gives for reading content (stripped), required of auditors only (403
    ``reason_required``); what a party gives is ignored."""
    if reader != "auditor":
        return None
    text = (reason or "").strip()
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise Forbidden(
            f"an auditor reads a document's content only with a reason of {REASON_MIN}-{REASON_MAX} characters "
            "(?reason=…), which is written to the exchange log",
            code="reason_required",
        )
    return text


def sees_every_delivery(reader: Reader, *, share_statuses: bool) -> bool:
    """Whether ``reader`` sees every recipient's delivery, statuses and comments, or only its own."""
    return reader != "recipient" or share_statuses
