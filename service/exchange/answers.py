"""Native use cases that build a package for the caller: submit from a JSON header + files, send a business
status about a document, recall, update or replace a document. Each ends in :func:`submit.submit_built`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from schemas.edxml import Receiver
from service import access
from service.access import Op
from service.context import Gateway
from service.exchange import compose, identity
from service.exchange.directory import Caller
from service.exchange.errors import Conflict, Forbidden, NotFound
from service.exchange.policy import check_sender
from service.exchange.statuses import TAKEN_BACK
from service.exchange.submit import SubmitResult, result_for, submit_built
from storage.models import Package

__all__ = ["recall", "replace", "send_status", "submit_native", "update"]


def _fingerprint(*parts: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def submit_native(
    gw: Gateway,
    *,
    caller: Caller,
    header: dict[str, Any],
    files: Sequence[compose.FileInput],
    idempotency_key: str | None,
) -> SubmitResult:
    """Build a document package from the native JSON header and files, then submit it."""
    parsed = compose.header_from_json(header)
    fingerprint = _fingerprint(header, [f.sha256() for f in files], [f.name for f in files])
    with gw.sessions() as session:
        from service.exchange.policy import check_sender

        check_sender(caller, parsed.from_code)
        if parsed.date is None:  # the day of its first submit, so that a resend names the same DocumentId
            parsed = dataclasses.replace(parsed, date=identity.first_day(session, parsed.from_code, fingerprint))
        package = compose.edoc_from_header(session, parsed, files, gw.agencies)
    attachment_files = {f"cid:{n}": f.path for n, f in enumerate(files, start=1) if f.path is not None}
    return submit_built(
        gw,
        caller=caller,
        package=package,
        fingerprint=fingerprint,
        idempotency_key=idempotency_key,
        secrecy=(parsed.security_level, parsed.sphere_of_promulgation),
        attachment_files=attachment_files,
        share_statuses=header.get("share_statuses") is True,
    )


def _unknown(package_id: str) -> NotFound:
    """The one answer for a document that does not exist and for one the caller neither sent nor received
    (issue 17, item 7: no existence oracle); the same as service.access.document_reader's."""
    return NotFound(f"no package {package_id}", code="unknown_package")


def _original(session: Session, package_id: str, caller: Caller, op: Op) -> Package:
    """The document ``package_id`` (the original, for a recall/update package), if the caller is one of its parties
    (service/access.py); else the answer a missing package gets."""
    package = session.get(Package, package_id)
    if package is None or package.kind != "edoc":
        raise _unknown(package_id)
    access.document_reader(caller, op, package.id, package.from_code, [d.to_code for d in package.deliveries])
    if package.response_for_id is not None and package.business_type:
        # Answers (15/16) may name the recall package itself: they are about the original.
        original = session.get(Package, package.response_for_id)
        assert original is not None
        package = original
    return package


def send_status(
    gw: Gateway,
    *,
    caller: Caller,
    package_id: str,
    code: str,
    agency: str | None = None,
    description: str | None = None,
    staff: dict[str, str] | None = None,
    idempotency_key: str | None = None,
) -> SubmitResult:
    """A business status about document ``package_id``, packaged and routed back to its sender (13: to recipients)."""
    with gw.sessions() as session:
        original = _original(session, package_id, caller, Op.RECALL if code == "13" else Op.STATUS)
        if code == "13":
            from_code = original.from_code
            if not caller.may_act_for(from_code):
                raise Forbidden("only the sender of a document may send 13", code="not_document_sender")
        else:
            mine = [d.to_code for d in original.deliveries if caller.may_act_for(d.to_code)]
            if agency is not None:
                mine = [c for c in mine if c == agency]
            if not mine:
                raise _unknown(package_id)
            from_code = mine[0]
        status = compose.status_package(
            session,
            original=original,
            from_code=from_code,
            code=code,
            description=description,
            staff=staff,
            agencies=gw.agencies,
        )
        original_id = original.id
    fingerprint = _fingerprint("status", original_id, from_code, code, description, staff)
    key = idempotency_key or f"status:{original_id}:{from_code}:{code}:{fingerprint[:16]}"
    return submit_built(gw, caller=caller, package=status, fingerprint=fingerprint, idempotency_key=key)


def recall(
    gw: Gateway,
    *,
    caller: Caller,
    package_id: str,
    to: Sequence[str] | None = None,
    reason: str | None = None,
    staff: dict[str, str] | None = None,
    idempotency_key: str | None = None,
) -> SubmitResult:
    """Recall document ``package_id`` (QĐ 28/2018, BussinessDocType 1) from some or all of its recipients."""
    with gw.sessions() as session:
        original = _original(session, package_id, caller, Op.RECALL)
        fingerprint = _fingerprint("recall", original.id, sorted(to or ()), reason, staff)
        key = idempotency_key or f"recall:{original.id}:{fingerprint[:16]}"
        replayed = _replayed(session, original.from_code, key, fingerprint)
        if replayed is not None:
            return replayed
        package = compose.recall_package(gw, session, caller, original, to=to, reason=reason, staff=staff)
    return submit_built(gw, caller=caller, package=package, fingerprint=fingerprint, idempotency_key=key)


def update(
    gw: Gateway,
    *,
    caller: Caller,
    package_id: str,
    changes: compose.DocumentChanges,
    receivers: Sequence[Receiver] = (),
    to: Sequence[str] | None = None,
    reason: str | None = None,
    staff: dict[str, str] | None = None,
    idempotency_key: str | None = None,
) -> SubmitResult:
    """Update document ``package_id`` (QĐ 28/2018, BussinessDocType 2) for some or all of its recipients; each
    recipient is asked (13) and answers 15 (its copy is then the updated one) or 16."""
    with gw.sessions() as session:
        original = _original(session, package_id, caller, Op.RECALL)
        fingerprint = _fingerprint("update", original.id, sorted(to or ()), reason, staff, changes, receivers)
        key = idempotency_key or f"update:{original.id}:{fingerprint[:16]}"
        replayed = _replayed(session, original.from_code, key, fingerprint)
        if replayed is not None:
            return replayed
        package = compose.update_package(
            gw, session, caller, original, to=to, reason=reason, staff=staff, changes=changes, receivers=receivers
        )
    return submit_built(gw, caller=caller, package=package, fingerprint=fingerprint, idempotency_key=key)


def replace(
    gw: Gateway,
    *,
    caller: Caller,
    package_id: str,
    header: dict[str, Any],
    files: Sequence[compose.FileInput],
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> SubmitResult:
    """Replace document ``package_id`` (QĐ 28/2018, BussinessDocType 3) with a new document built from the native
    ``header`` and ``files`` (``from`` and ``to`` default to the replaced document's sender and recipients); each
    recipient is asked (13) and answers 15 (its copy of the replaced document is no longer served) or 16."""
    with gw.sessions() as session:
        original = _original(session, package_id, caller, Op.RECALL)
        held = _still_held(original)
        if not held and not header.get("to"):
            raise Conflict("every copy of this document was already taken back by its sender", code="already_recalled")
        data = {"from": original.from_code, "to": held, **header}
        parsed = compose.header_from_json(data)
        check_sender(caller, parsed.from_code)
        fingerprint = _fingerprint("replace", original.id, data, [f.sha256() for f in files], [f.name for f in files],
                                   reason)
        key = idempotency_key or f"replace:{original.id}:{fingerprint[:16]}"
        replayed = _replayed(session, parsed.from_code, key, fingerprint)
        if replayed is not None:
            return replayed
        package = compose.replacement_package(
            session, caller, original, header=parsed, files=files, reason=reason, agencies=gw.agencies
        )
    attachment_files = {f"cid:{n}": f.path for n, f in enumerate(files, start=1) if f.path is not None}
    return submit_built(
        gw,
        caller=caller,
        package=package,
        fingerprint=fingerprint,
        idempotency_key=key,
        secrecy=(parsed.security_level, parsed.sphere_of_promulgation),
        attachment_files=attachment_files,
    )


def _still_held(original: Package) -> list[str]:
    return [d.to_code for d in original.deliveries if d.recall_state not in TAKEN_BACK]


def _replayed(session: Session, from_code: str, key: str, fingerprint: str) -> SubmitResult | None:
    """The answer to a request already accepted under ``key`` (a retry after a lost answer), before the checks
    that its own success would now fail (a request to take a document back is pending once it is accepted)."""
    row = session.execute(
        sa.select(Package).where(Package.from_code == from_code, Package.idempotency_key == key)
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.request_sha256 != fingerprint:
        raise Conflict(
            f"a different request was already accepted under this idempotency key ({key})",
            code="idempotency_conflict",
            existing_id=row.id,
        )
    return result_for(row, replayed=True)
