"""Native use cases that build a package for the caller: submit from a JSON header + files, send a business
status about a document, recall a document. Each ends in :func:`submit.submit_built`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from service import access
from service.access import Op
from service.context import Gateway
from service.exchange import compose, identity
from service.exchange.directory import Caller
from service.exchange.errors import Forbidden, NotFound
from service.exchange.submit import SubmitResult, submit_built
from storage.models import Package

__all__ = ["recall", "send_status", "submit_native"]


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
        package = compose.recall_package(gw, session, caller, original, to=to, reason=reason, staff=staff)
    recipients = sorted(o.organ_id for o in package.header.to)
    fingerprint = _fingerprint("recall", original.id, recipients, reason, staff)
    key = idempotency_key or f"recall:{original.id}:{fingerprint[:16]}"
    return submit_built(gw, caller=caller, package=package, fingerprint=fingerprint, idempotency_key=key)
