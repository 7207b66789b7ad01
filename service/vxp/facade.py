"""The VXP facade: every STANDARDS.md §8 operation, answered from the same exchange core as the native API.

:meth:`VxpFacade.handle` authenticates a call (:class:`~service.vxp.auth.VxpAuthenticator` against the client
systems of the database, replays refused through the ``replay_nonce`` table), resolves the caller, runs the
operation and answers an envelope. HTTP is not known here (``service/vxp/http.py`` is the router); what is known
is the HTTP *status* of a failure: VXP auth failures 401, VXP request failures 400, exchange-core failures the
status ``service/errors.py`` gives them. Every refusal is written to the exchange log (``vxp_refused``); those of
callers not authenticated are counted per kind and window instead of one row each (service/vxp/refusals.py), and
none is written while the database is away (``VXP-503-DATABASE-UNAVAILABLE``, issue 17).

Error codes: the VXP codes of ``service/vxp/README.md``; a refusal by the exchange core is
``VXP-<status>-<CORE-CODE>`` (``not_your_agency`` → ``VXP-403-NOT-YOUR-AGENCY``), stable because the core codes
are. Wire values of delivery states are kept in :data:`SEND_STATES` (§8 does not fix them [?]).

Who may do what: senders (``dms``, ``clerk``, ``admin``, ``node``) send and acknowledge for the agencies they
act for; every system reads the inbox of the agencies linked to it; only ``admin`` systems register/delete
agencies (the SDK does not hash ``registerAgency``'s body, so it is protected by TLS only). A ``node`` caller is
a peer gateway (:class:`~service.vxp.systems.PeerCaller`); a status it brings back marks our forwarded copy as
acknowledged.

``updateStatus(done|fail)`` is a transport acknowledgement *without* the automatic status 01 that the native
API's ack sends: in the SDK's flow (§8) the receiving system sends its business statuses itself, 01 first, right
after ``done``; an automatic 01 would make that 01 an illegal repeat. (Behind a peer node, the recipient's own
node sends the 01.)
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from schemas.agency import AgencyCode
from schemas.edxml import ParsedPackage
from schemas.errors import SchemaError
from service import access
from service.access import Op
from service.context import Gateway
from service.errors import status_for
from service.exchange import answers, inbox, log
from service.exchange.clock import VN
from service.exchange.directory import AgencyInput, Caller, upsert_agency
from service.exchange.errors import ExchangeError, NotFound
from service.exchange.policy import check_sender
from service.exchange.statuses import LABELS_VI
from service.exchange.submit import submit_package
from service.vxp.auth import AuthenticatedCall, VxpAuthenticator
from service.vxp.errors import VxpAuthError, VxpError, VxpRequestError
from service.vxp.headers import from_code as from_header
from service.vxp.headers import to_codes
from service.vxp.protocol import OPERATIONS, UPDATE_STATUS_TO_STATUS_CODE, fail_envelope, header_name, ok_envelope
from service.vxp.refusals import RefusalLog
from service.vxp.systems import DatabaseReplayGuard, PeerCaller, VxpSystems
from signing.errors import SigningError
from storage import vxp as store
from storage.db import translate_error
from storage.errors import StorageError
from storage.models import Agency, Delivery, Package, utcnow

__all__ = ["SEND_STATES", "Answer", "VxpFacade", "mark_forwarded_acknowledged"]

logger = logging.getLogger("edoc.vxp")

#: our delivery state → (``status``/``sendStatus``, ``status_desc``/``sendStatusDesc``) on the wire.
SEND_STATES: Mapping[str, tuple[str, str]] = {
    "pending": ("pending", "Đang gửi"),
    "delivered": ("initial", "Chờ nhận"),
    "acked": ("done", "Đã nhận"),
    "failed": ("fail", "Lỗi"),
    "dead": ("fail", "Lỗi"),
}
_LIST_LIMIT = 500
_DOMAIN_ERRORS = (VxpError, ExchangeError, SchemaError, SigningError, StorageError)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    envelope: dict[str, Any]
    auth_seconds: float = 0.0
    total_seconds: float = 0.0
    authenticated: bool = False  # whether the caller proved who it is (Server-Timing goes to those only)


class VxpFacade:
    """One per process (``app.state``); thread-safe."""

    def __init__(self, gw: Gateway, *, clock: Any = None) -> None:
        self.gw = gw
        self.systems = VxpSystems(gw)
        guard = DatabaseReplayGuard(gw.engine)
        self._received = store.ReceivedList.for_engine(gw.engine)
        self._acks = store.TransportAcks.for_engine(gw.engine)
        self.authenticator = VxpAuthenticator(
            lookup_secret=self.systems.secret,
            replay_guard=guard,
            clock=clock or (lambda: datetime.now(UTC)),
            window=timedelta(seconds=gw.settings.vxp_timestamp_window_seconds),
        )
        self.refusals = RefusalLog(gw, window=gw.settings.refusal_log_seconds)

    def precheck(self, name: str, headers: Sequence[tuple[str, str]]) -> Answer | None:
        """For a call with a body, before the body is read: its headers authenticated (all but ``hash-file``,
        which needs the body, and the replay guard, which :meth:`handle` runs), or the refusal to answer at once,
        so that nobody makes the gateway receive a package without a valid signature (issue 17)."""
        op = OPERATIONS[name]
        try:
            self.authenticator.authenticate(headers, None, required=op.required, check_replay=False)
        except Exception as exc:
            status, code, message = _failure_of(exc, name)
            self._refused(status, name, headers, code, message)
            return Answer(status, fail_envelope(code, message, name))
        return None

    def handle(self, method: str, name: str, headers: Sequence[tuple[str, str]], body: bytes) -> Answer:
        started = time.perf_counter()
        op = OPERATIONS.get(name)
        if op is None:
            return Answer(404, fail_envelope("VXP-404-NO-OPERATION", f"no VXP operation {name!r}"))
        if method not in op.accepted_methods:
            allowed = " or ".join(sorted(op.accepted_methods))
            return Answer(405, fail_envelope("VXP-405-METHOD", f"{name} is called with {allowed}", name))
        auth, authenticated = 0.0, False
        try:
            try:
                call = self.authenticator.authenticate(
                    headers, body if op.body == "edxml" else None, required=op.required
                )
            finally:
                auth = time.perf_counter() - started
            authenticated = True
            caller = self.systems.caller(call.systemid)
            fields = getattr(self, "_" + name)(caller, call, body)
            return Answer(200, ok_envelope(**fields), auth, time.perf_counter() - started, True)
        except Exception as exc:
            status, code, message = _failure_of(exc, name)
        self._refused(status, name, headers, code, message)
        return Answer(status, fail_envelope(code, message, name), auth, time.perf_counter() - started, authenticated)

    # --- operations (named after §8; each returns the envelope's fields) ---

    def _sendEdoc(self, caller: Caller, call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        h = call.headers
        access.require(caller, Op.SUBMIT)
        kind = _messagetype(h["messagetype"])
        if h["servicetype"].lower() != "edoc":
            raise VxpRequestError(f"servicetype must be eDoc, not {h['servicetype']!r}", code="VXP-400-BAD-SERVICETYPE")
        # from: an agency code, or the caller's system id (then the package's From); to: see service/vxp/headers.py
        from_code = from_header(h["from"], systemid=call.systemid)
        if from_code is not None:
            check_sender(caller, from_code)
        raw = call.payload or b""
        to = to_codes(h.get("to"))

        def protocol_checks(parsed: ParsedPackage) -> None:
            """The VXP headers against the package, on the core's own parse (no second parse of the body)."""
            actual = "edoc" if parsed.edoc is not None else "status"
            if actual != kind:
                raise VxpRequestError(
                    f"messagetype is {kind} but the body is a {actual} package", code="VXP-400-MESSAGETYPE-MISMATCH"
                )
            organ = parsed.edoc.header.from_ if parsed.edoc is not None else parsed.status.from_  # type: ignore[union-attr]
            if from_code is None:  # named by the system id: the package's From, which the system must act for
                check_sender(caller, organ.organ_id.strip())
            elif organ.organ_id.strip() != from_code:
                raise VxpRequestError(
                    f"the from header ({from_code}) is not the package's From ({organ.organ_id})",
                    code="VXP-400-FROM-MISMATCH",
                )
            if to and parsed.edoc is not None:
                listed = {o.organ_id.strip() for o in parsed.edoc.header.to}
                if not set(to) <= listed:
                    missing = ", ".join(sorted(set(to) - listed))
                    raise VxpRequestError(
                        f"'to' names {missing}, not in the package's To list", code="VXP-400-TO-MISMATCH"
                    )

        # A resend of a package already accepted (a lost answer, a peer's push after a crash) is answered by the
        # core as a replay with the first DocId, documents and statuses alike.
        result = submit_package(
            self.gw, caller=caller, raw=raw, channel="vxp", recipients=to or None, precheck=protocol_checks
        )
        if isinstance(caller, PeerCaller) and kind == "status" and not result.replayed:
            mark_forwarded_acknowledged(self.gw, result.id)
        return {"DocId": result.id}

    def _getReceivedEdocList(self, caller: Caller, call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        kind = _messagetype(call.headers["messagetype"])
        rows = self._received.waiting(kind, caller.agencies, limit=_LIST_LIMIT)  # every receiving system polls it
        return {"data": [_received_row(row) for row in rows]}

    def _countReceiveEdoc(self, caller: Caller, _call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        return {"count": self._count(caller, "edoc")}

    def _countReceiveStatus(self, caller: Caller, _call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        return {"count": self._count(caller, "status")}

    def _count(self, caller: Caller, kind: str) -> int:
        with self.gw.sessions() as session:
            return store.count_waiting(session, kind, caller.agencies)

    def _getEdoc(self, caller: Caller, call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        package = inbox.edxml_of(self.gw, caller, call.headers["docId"])
        return {"data": base64.b64encode(self.gw.blobs.read(package.blob_sha256, package.size)).decode("ascii")}

    def _updateStatus(self, caller: Caller, call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        access.require(caller, Op.STATUS)
        doc_id, value = call.headers["docId"], call.headers["status"]
        if value in UPDATE_STATUS_TO_STATUS_CODE:
            code = UPDATE_STATUS_TO_STATUS_CODE[value]
            answers.send_status(self.gw, caller=caller, package_id=doc_id, code=code)
        elif value in ("done", "fail"):
            self._settle(caller, doc_id, "acked" if value == "done" else "failed")
        else:
            known = ", ".join(["done", "fail", *UPDATE_STATUS_TO_STATUS_CODE])
            raise VxpRequestError(f"status must be one of {known}, not {value!r}", code="VXP-400-BAD-STATUS")
        return {}

    def _settle(self, caller: Caller, doc_id: str, state: str) -> None:
        """Transport ack: the item leaves the list; ``fail`` marks the copy unusable. No automatic 01 (docstring).
        Settling a copy already settled is nothing to do; a package with no copy for the caller is not found."""
        failed = state == "failed"
        error = f"the recipient system {caller.name} reported the package unusable (fail)" if failed else None
        detail = {"channel": "vxp", "peer": caller.role == "node"}
        if not self._acks.settle(doc_id, caller.agencies, failed=failed, at=utcnow(), error=error, actor=caller.name,
                                 detail=detail):
            raise NotFound(f"no package {doc_id} addressed to your agencies", code="unknown_package")

    def _getSentEdocList(self, caller: Caller, call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        h = call.headers
        kind = _messagetype(h.get("messagetype") or "edoc")
        query = sa.select(Package).where(Package.kind == kind).order_by(Package.created_at.desc()).limit(_LIST_LIMIT)
        if caller.role not in ("auditor", "admin"):
            query = query.where(Package.from_code.in_(caller.agencies))
        if h.get("docId"):
            query = query.where(Package.id == h["docId"])
        with self.gw.sessions() as session:
            packages = session.execute(query).scalars().all()
            data = [_sent_row(p, d) for p in packages for d in p.deliveries]
        return {"data": data}

    def _getAgenciesList(self, _caller: Caller, _call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        with self.gw.sessions() as session:
            rows = session.execute(sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.code)).scalars()
            return {"data": [_agency_row(a) for a in rows]}

    def _registerAgency(self, caller: Caller, _call: AuthenticatedCall, body: bytes) -> dict[str, Any]:
        access.require(caller, Op.DIRECTORY_WRITE)
        try:
            record = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise VxpRequestError("registerAgency's body must be a JSON object", code="VXP-400-BAD-BODY") from exc
        if not isinstance(record, dict) or not record.get("code") or not record.get("name"):
            raise VxpRequestError(
                "registerAgency needs {code, name, pcode, mail, mobile, fax}", code="VXP-400-BAD-BODY"
            )
        item = AgencyInput(
            code=str(record["code"]).strip(),
            name=str(record["name"]),
            parent=str(record.get("pcode") or "").strip() or None,
            email=record.get("mail") or None,
            telephone=record.get("mobile") or None,
            fax=record.get("fax") or None,
        )
        with self.gw.writes() as session, session.begin():
            outcome = upsert_agency(session, item)
            log.record(session, "directory_import", actor=caller.name, channel="vxp", agency=item.code, outcome=outcome)
        return {}

    def _deleteAgency(self, caller: Caller, call: AuthenticatedCall, _body: bytes) -> dict[str, Any]:
        access.require(caller, Op.DIRECTORY_WRITE)
        code = str(AgencyCode.parse(call.headers["AgencyCode"]))
        with self.gw.writes() as session, session.begin():
            agency = session.get(Agency, code)
            if agency is None or not agency.active:
                raise NotFound(f"agency {code} is not in the directory", code="unknown_agency")
            agency.active = False
            log.record(session, "agency_deleted", actor=caller.name, agency=code, channel="vxp")
        return {}

    # --- refusals ---

    def _refused(self, status: int, name: str, headers: Sequence[tuple[str, str]], code: str, message: str) -> None:
        if status == 503:
            return  # the database is away: nothing can be written to its log (the HTTP log has the call)
        if status == 401:  # not authenticated: counted, not a row each (service/vxp/refusals.py)
            agency = _header(headers, header_name("from"))
            self.refusals.note(
                operation=name,
                code=code,
                claimed=_header(headers, header_name("systemid"))[:80] or None,
                agency=agency if len(agency) == 13 else None,
                message=message[:500],
            )
            return
        self._log_refusal(name, headers, code, message)

    def _log_refusal(self, name: str, headers: Sequence[tuple[str, str]], code: str, message: str) -> None:
        claimed = _header(headers, header_name("systemid"))[:80] or None
        agency = _header(headers, header_name("from"))
        try:
            with self.gw.writes() as session, session.begin():
                log.record(
                    session,
                    "vxp_refused",
                    actor=f"vxp:{claimed}" if claimed else "vxp:?",
                    agency=agency if len(agency) == 13 else None,
                    operation=name,
                    code=code,
                    message=message[:500],
                    doc_id=_header(headers, header_name("docId"))[:40] or None,
                )
        except Exception:  # the answer must not depend on the log being writable
            logger.exception("could not log a VXP refusal (%s %s)", name, code)


def mark_forwarded_acknowledged(gw: Gateway, status_package_id: str) -> None:
    """A status came back from the recipient behind an uplink: our forwarded copy reached it (delivered → acked)."""
    with gw.writes() as session, session.begin():
        store.mark_forwarded_acknowledged(session, status_package_id, at=utcnow())


def _failure_of(exc: Exception, name: str) -> tuple[int, str, str]:
    """A refusal's (HTTP status, VXP code, message): the database away or refusing a value is translated
    (``VXP-503-DATABASE-UNAVAILABLE``, ``VXP-400-INVALID-VALUE``); anything else unexpected is VXP-500-INTERNAL."""
    if not isinstance(exc, _DOMAIN_ERRORS):
        translated = translate_error(exc)
        if translated is None:
            logger.error("VXP %s failed", name, exc_info=exc)
            return 500, "VXP-500-INTERNAL", "internal error; the call was not completed"
        logger.warning("VXP %s: %s (%s)", name, translated.code, type(exc).__name__)
        exc = translated
    return _failure(exc)


def _failure(exc: Exception) -> tuple[int, str, str]:
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    if isinstance(exc, VxpAuthError):
        return 401, exc.code, message
    if isinstance(exc, VxpError):
        return 400, exc.code, message
    status, _title = status_for(exc)
    core = str(getattr(exc, "code", "error")).upper().replace("_", "-")
    return status, f"VXP-{status}-{core}", message


def _messagetype(value: str) -> str:
    if value not in ("edoc", "status"):
        raise VxpRequestError(f"messagetype must be edoc or status, not {value!r}", code="VXP-400-BAD-MESSAGETYPE")
    return value


assert inbox.RECALLED == store.RECALLED  # what the list leaves out is what getEdoc answers VXP-410


def _vn(moment: datetime | None) -> str:
    return moment.astimezone(VN).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _received_row(r: store.Received) -> dict[str, Any]:
    status, desc = SEND_STATES.get(r.state, ("pending", ""))
    return {
        "docId": r.id,
        "serviceType": "eDoc",
        "messageType": r.kind,
        "from": r.from_code,
        "to": r.to_code,
        "status": status,
        "status_desc": desc,
        "created_time": _vn(r.created_at),
        "updated_time": _vn(r.delivered_at or r.updated_at),
    }


def _sent_row(p: Package, d: Delivery) -> dict[str, Any]:
    status, desc = SEND_STATES.get(d.state, ("pending", ""))
    summary = p.summary or {}
    notation = "/".join(x for x in (summary.get("code_number"), summary.get("code_notation")) if x)
    code = d.business_status or ""
    return {
        "serviceType": "eDoc",
        "senderDocId": p.id,
        "receiverDocId": d.remote_doc_id or p.id,
        "fromCode": p.from_code,
        "toCode": d.to_code,
        "sendStatus": status,
        "sendStatusDesc": desc,
        "receiveStatus": code,
        "receiveStatusDesc": LABELS_VI.get(code, ""),
        "title": p.subject or "",
        "notation": notation,
        "sentTime": _vn(p.created_at),
        "receivedTime": _vn(d.delivered_at),
        "messageType": p.kind,
    }


def _agency_row(a: Agency) -> dict[str, Any]:
    return {
        "id": a.code,
        "pid": a.parent_code or "",
        "code": a.code,
        "name": a.name,
        "mail": a.email or "",
        "mobile": a.telephone or "",
        "fax": a.fax or "",
    }


def _header(headers: Sequence[tuple[str, str]], name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in headers if k.lower() == wanted), "")
