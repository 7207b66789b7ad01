"""Uplinks: this node as a VXP *client* of another node or of the national axis (ARCHITECTURE.md, step 3).

Push (:class:`UplinkTransport`): a delivery routed to an uplink is a ``sendEdoc`` of the package as this node
stored it (its TraceHeader appended and signed by this node at submit), ``from`` = the package's From, ``to`` =
*every* recipient of that package routed to the same uplink. The call runs outside any database transaction
(``push``, see service/exchange/delivery.py); its answer (the remote DocId) is recorded on the delivery
afterwards. It is idempotent at the remote: every push of one package over one uplink sends the same bytes with
the same ``to``, and the remote accepts a package once per DocumentId and sender (a resend gets the first
DocId). So a crash between the remote's answer and our commit, or two pushes for two recipients of one package,
never deliver twice. Failures raise ``DeliveryError``: the worker retries on ``retry_schedule``, then
dead-letters; a FAIL whose ErrorCode refuses the package itself (``VXP-4xx-…`` but 401/404/405/408/429, see
:func:`refused_for_good`) is ``permanent`` and dead at once, with the remote's code in ``last_error``.

Pull (:class:`UplinkPoller`): every ``poll_seconds`` the node lists what the remote holds for it
(``getReceivedEdocList`` edoc, then status), and for each remote docId not yet remembered (table
``uplink_receipt``) fetches it (``getEdoc``), submits it locally as the peer (``PeerCaller``: it may only carry
packages from agencies routed to that uplink), remembers the docId, and acknowledges it remotely
(``updateStatus done``; ``fail`` when this node refuses the package for good). A docId already remembered is only
re-acknowledged, so a package listed again (our ack was lost) is never taken in twice; an item the remote fails
to serve is skipped for that round, so one broken item never holds up the rest; a crash between the local
commit and the receipt is covered by the submit's own idempotency: the same bytes from the same sender come back as
a replay of the first package, for documents and statuses alike (a resent status is not judged again against the
state its first copy created).
Unreachable remotes back off exponentially up to 5 minutes.

Directory sync (:func:`sync_agencies`): ``getAgenciesList`` upserted into the local directory; agencies routed to
that uplink that the remote no longer lists are deactivated (never those served locally or elsewhere).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from schemas.agency import AgencyCode
from schemas.errors import SchemaError
from service.context import Gateway
from service.exchange import log
from service.exchange.delivery import DeliveryError
from service.exchange.directory import AgencyInput, upsert_agency
from service.exchange.errors import ExchangeError
from service.exchange.submit import submit_package
from service.settings import UplinkSettings
from service.vxp.client import ReceivedItem, VxpClient
from service.vxp.errors import VxpError, VxpRemoteError, VxpTransportError
from service.vxp.facade import mark_forwarded_acknowledged
from service.vxp.routes import refresh_router
from service.vxp.systems import PeerCaller
from signing.errors import SigningError
from storage.errors import StorageError
from storage.models import Agency, Delivery, Package, UplinkReceipt, utcnow

__all__ = [
    "SyncReport",
    "UplinkPoller",
    "UplinkTransport",
    "refused_for_good",
    "start_pollers",
    "sync_agencies",
    "uplink_transports",
]

logger = logging.getLogger("edoc.uplink")
_REFUSALS = (ExchangeError, SchemaError, SigningError)
MAX_BACKOFF = 300.0


def _client(cfg: UplinkSettings) -> VxpClient:
    return VxpClient(cfg.endpoint, cfg.systemid, cfg.secret.get_secret_value(), timeout=cfg.timeout_seconds)


@dataclass
class UplinkTransport:
    """The delivery transport of one uplink (push; see the module docstring)."""

    gw: Gateway
    name: str
    cfg: UplinkSettings

    def push(self, delivery_id: str) -> str:
        with self.gw.sessions() as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None:
                raise DeliveryError(f"delivery {delivery_id} vanished")
            package = session.get(Package, delivery.package_id)
            assert package is not None
            to = sorted(
                session.execute(
                    sa.select(Delivery.to_code).where(Delivery.package_id == package.id, Delivery.route == self.name)
                ).scalars()
            )
            sha, size, kind, from_code = package.blob_sha256, package.size, package.kind, package.from_code
        try:
            raw = self.gw.blobs.read(sha, size)
        except StorageError as exc:
            raise DeliveryError(f"package blob unreadable: {exc}") from exc
        try:
            with _client(self.cfg) as client:
                return client.send_edoc(raw, from_code=from_code, to_codes=to, messagetype=kind)
        except VxpRemoteError as exc:  # the remote answered FAIL: its ErrorCode says whether a retry can help
            raise DeliveryError(f"uplink {self.name}: {exc}", permanent=refused_for_good(exc.code)) from exc
        except VxpError as exc:
            raise DeliveryError(f"uplink {self.name}: {exc.code}: {exc}") from exc

    def __call__(self, _session: Session, delivery: Delivery) -> str | None:
        raise DeliveryError(f"delivery {delivery.id} over uplink {self.name} was not pushed yet")


#: Families of a ``VXP-<status>-…`` ErrorCode that say "this node, not this package": credentials or clock (401),
#: endpoint or method (404, 405), busy (408, 429). Retried like an outage, since fixing the cause lets them through.
_RETRIED_FAMILIES = frozenset({"401", "404", "405", "408", "429"})


def refused_for_good(code: str) -> bool:
    """Whether a remote's FAIL ``ErrorCode`` refuses *this package* for good (``VXP-400-…``, ``VXP-403-…``,
    ``VXP-409-…``, ``VXP-413-…``, ``VXP-422-…``): resending the same bytes can only be refused again. Codes of
    another shape (the axis's own) and the families in ``_RETRIED_FAMILIES`` are retried on the schedule."""
    family = re.match(r"VXP-(4\d\d)-", code)
    return family is not None and family.group(1) not in _RETRIED_FAMILIES


def uplink_transports(gw: Gateway) -> dict[str, Any]:
    return {name: UplinkTransport(gw, name, cfg) for name, cfg in gw.settings.uplinks.items()}


@dataclass
class UplinkPoller:
    """Pulls packages and statuses for this node's agencies from one uplink (see the module docstring)."""

    gw: Gateway
    name: str
    cfg: UplinkSettings
    failures: int = field(default=0, init=False)
    _failing: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    @property
    def caller(self) -> PeerCaller:
        return PeerCaller(
            "", f"uplink:{self.name}", "node", frozenset(), route=self.name, router=lambda: self.gw.router
        )

    def poll_once(self) -> dict[str, int]:
        """One round; returns counts (received, repeated, refused, failed).

        An item the remote cannot serve (its ``getEdoc`` or ``updateStatus`` answers FAIL, or garbage) is counted
        as ``failed``, logged, and left for the next round: it does not hold up the items listed after it, nor the
        statuses. Raises when the remote is unreachable or cannot list at all (the round ends and the poller
        backs off), and on a local failure (database, object store), which would fail every item alike.
        """
        counts = {"received": 0, "repeated": 0, "refused": 0, "failed": 0}
        with _client(self.cfg) as client:
            for kind in ("edoc", "status"):
                items = client.get_received_edoc_list(kind)
                for doc_id, rows in _by_doc(items).items():
                    try:
                        counts[self._take(client, doc_id, rows, kind)] += 1
                    except VxpTransportError:
                        raise  # the remote went away mid-round: back off
                    except VxpError as exc:  # this item only
                        counts["failed"] += 1
                        self._item_failed(doc_id, exc)
        return counts

    def _item_failed(self, doc_id: str, exc: VxpError) -> None:
        """Log a failing item once at WARNING (then at DEBUG each round, so a stuck item does not flood the log)."""
        seen = self._failing.get(doc_id, 0)
        self._failing[doc_id] = seen + 1
        if len(self._failing) > 10_000:  # bounded: forget the oldest
            self._failing.pop(next(iter(self._failing)))
        level = logging.WARNING if seen == 0 else logging.DEBUG
        logger.log(level, "uplink %s: item %s not taken (attempt %d, retried next round): %s: %s",
                   self.name, doc_id, seen + 1, exc.code, exc)

    def _take(self, client: VxpClient, doc_id: str, rows: list[ReceivedItem], kind: str) -> str:
        receipt = self._receipt(doc_id)
        outcome = "repeated"
        if receipt is None:
            raw = client.get_edoc(doc_id)
            receipt = self._submit(doc_id, raw, [r.to for r in rows], kind)
            outcome = "received" if receipt.outcome == "accepted" else "refused"
        client.update_status(doc_id, "done" if receipt.outcome == "accepted" else "fail")
        with self.gw.writes() as session, session.begin():
            session.execute(
                sa.update(UplinkReceipt)
                .where(UplinkReceipt.uplink == self.name, UplinkReceipt.remote_doc_id == doc_id)
                .values(acked_at=utcnow())
            )
        self._failing.pop(doc_id, None)
        return outcome

    def _receipt(self, doc_id: str) -> UplinkReceipt | None:
        with self.gw.sessions() as session:
            return session.get(UplinkReceipt, (self.name, doc_id))

    def _submit(self, doc_id: str, raw: bytes, to: list[str], kind: str) -> UplinkReceipt:
        recipients = [c for c in _codes(to) if self.gw.router.resolve(c) == "local"] or None
        receipt = UplinkReceipt(uplink=self.name, remote_doc_id=doc_id[:100], outcome="accepted")
        try:
            result = submit_package(self.gw, caller=self.caller, raw=raw, channel="uplink", recipients=recipients)
            receipt.package_id = result.id
            if kind == "status" and not result.replayed:
                mark_forwarded_acknowledged(self.gw, result.id)
        except _REFUSALS as exc:  # a resend of what was taken in before a crash is a replay, not a refusal
            receipt.outcome, receipt.error = "refused", f"{getattr(exc, 'code', 'error')}: {exc}"[:2000]
            logger.warning("uplink %s: package %s refused: %s", self.name, doc_id, receipt.error)
        with self.gw.writes() as session, session.begin():
            if session.get(UplinkReceipt, (self.name, doc_id)) is None:
                session.add(receipt)
                log.record(
                    session,
                    "uplink_received" if receipt.outcome == "accepted" else "uplink_refused",
                    package_id=receipt.package_id,
                    actor=f"uplink:{self.name}",
                    remote_doc_id=doc_id,
                    error=receipt.error,
                )
        return receipt

    def run_forever(self, stop: threading.Event) -> None:
        logger.info("uplink poller %s started (%s)", self.name, self.cfg.endpoint)
        while not stop.is_set():
            delay = self.cfg.poll_seconds
            try:
                refresh_router(self.gw)
                counts = self.poll_once()
                self.failures = 0
                if counts["received"] or counts["refused"] or counts["failed"]:
                    logger.info("uplink %s: %s", self.name, counts)
                    self.gw.wakeup.set()
            except Exception as exc:  # keep polling; back off while the remote is away
                self.failures += 1
                delay = min(self.cfg.poll_seconds * 2 ** min(self.failures, 10), MAX_BACKOFF)
                level = logging.INFO if isinstance(exc, VxpTransportError) else logging.WARNING
                logger.log(level, "uplink %s: poll failed (%s), next in %.1f s", self.name, exc, delay)
            stop.wait(delay)
        logger.info("uplink poller %s stopped", self.name)


def start_pollers(gw: Gateway, stop: threading.Event) -> list[threading.Thread]:
    threads = []
    for name, cfg in gw.settings.uplinks.items():
        poller = UplinkPoller(gw, name, cfg)
        thread = threading.Thread(target=poller.run_forever, args=(stop,), name=f"edoc-uplink-{name}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def _by_doc(items: Iterable[ReceivedItem]) -> dict[str, list[ReceivedItem]]:
    grouped: dict[str, list[ReceivedItem]] = {}
    for item in items:
        if item.doc_id:
            grouped.setdefault(item.doc_id, []).append(item)
    return grouped


def _codes(values: Iterable[str]) -> list[str]:
    """Agency codes out of list rows' ``to`` (a code, or a JSON array of codes); malformed ones dropped."""
    codes: list[str] = []
    for value in values:
        text = value.strip()
        try:
            items = json.loads(text) if text.startswith("[") else [text]
        except ValueError:
            continue
        for item in items if isinstance(items, list) else []:
            try:
                codes.append(str(AgencyCode.parse(str(item).strip())))
            except SchemaError:
                continue
    return list(dict.fromkeys(codes))


@dataclass(frozen=True)
class SyncReport:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[str, ...]


def sync_agencies(gw: Gateway, uplink: str) -> SyncReport:
    """Pull ``getAgenciesList`` from ``uplink`` into the directory (see the module docstring)."""
    cfg = gw.settings.uplinks.get(uplink)
    if cfg is None:
        raise ExchangeError(
            f"no uplink {uplink!r} (configured: {', '.join(gw.settings.uplinks) or 'none'})", code="unknown_uplink"
        )
    with _client(cfg) as client:
        remote = client.get_agencies_list()
    by_id = {a.id: a.code for a in remote if a.id}
    outcome: dict[str, list[str]] = {"added": [], "changed": [], "unchanged": [], "skipped": []}
    seen: set[str] = set()
    with gw.writes() as session, session.begin():
        for agency in remote:
            parent = by_id.get(agency.pid, agency.pid) if agency.pid else None
            try:
                code = str(AgencyCode.parse(agency.code.strip()))
                parent = str(AgencyCode.parse(parent)) if parent else None
            except SchemaError:
                outcome["skipped"].append(agency.code)
                continue
            local = session.get(Agency, code)
            item = AgencyInput(
                code=code,
                name=agency.name or code,
                parent=parent,
                email=agency.mail or None,
                telephone=agency.mobile or None,
                fax=agency.fax or None,
                address=local.address if local is not None else None,  # VXP has no address: keep ours
            )
            outcome[upsert_agency(session, item)].append(code)
            seen.add(code)
        removed = _deactivate_missing(gw, session, uplink, seen)
        log.record(
            session,
            "directory_sync",
            actor=f"uplink:{uplink}",
            added=len(outcome["added"]),
            changed=len(outcome["changed"]),
            removed=len(removed),
            skipped=len(outcome["skipped"]),
        )
    return SyncReport(
        tuple(outcome["added"]),
        tuple(outcome["changed"]),
        tuple(removed),
        tuple(outcome["unchanged"]),
        tuple(outcome["skipped"]),
    )


def _deactivate_missing(gw: Gateway, session: Session, uplink: str, seen: set[str]) -> list[str]:
    removed = []
    for agency in session.execute(sa.select(Agency).where(Agency.active.is_(True))).scalars():
        if agency.code not in seen and gw.router.resolve(agency.code) == uplink:
            agency.active = False
            removed.append(agency.code)
    return removed
