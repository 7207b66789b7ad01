"""What the auditors' pages show of the transparency log (issue 21; docs/evidence.md).

- :func:`proof_statuses`: for the events of a timeline, each event's leaf index and whether the signed checkpoint
  this node serves covers it (then an inclusion proof exists: ``GET /api/v1/edocs/{id}/evidence`` carries it);
- :func:`bundle_verifier`: the "verify evidence" page's checker of an uploaded bundle, ``verify_bundle`` of
  service/exchange/evidence.py with this node's log key and its configured witnesses (the same check as
  ``edoc evidence verify``), as a :class:`BundleCheck`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.context import Gateway
from service.exchange.errors import ExchangeError
from service.exchange.evidence import verify_bundle
from service.exchange.tlog import log_service
from service.web.auditor.i18n import words
from storage.tlog import store as tlog_store

__all__ = ["BundleCheck", "BundleVerifier", "bundle_verifier", "proof_statuses"]


@dataclass(frozen=True, slots=True)
class BundleCheck:
    """What the evidence page shows: the verdict and one line per problem (as ``edoc evidence verify`` prints)."""

    ok: bool
    problems: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)  # i18n key (fact_*) → value


BundleVerifier = Callable[[Gateway, bytes], BundleCheck]


def proof_statuses(gw: Gateway, event_ids: Sequence[int], lang: str = "vi") -> Mapping[int, str]:
    """Event id → its proof state in ``lang``: "lá #N, đã có trong checkpoint S", "lá #N, chờ checkpoint", or
    "chờ đưa vào nhật ký" (no leaf index yet: PostgreSQL's sequencer has not reached it)."""
    t = words(lang)
    with gw.sessions() as session:
        indexes = tlog_store.leaf_indexes(session, event_ids)
        size, _note = log_service(gw).served(session)
    out: dict[int, str] = {}
    for event_id, index in indexes.items():
        if index is None:
            out[event_id] = t["proof_unlogged"]
        elif index < size:
            out[event_id] = t["proof_in"].format(index=index, size=size)
        else:
            out[event_id] = t["proof_wait"].format(index=index)
    return out


def bundle_verifier(gw: Gateway) -> BundleVerifier | None:
    """The evidence-bundle checker; None when this node has no log key (production without ``edoc keys log``),
    and the page then says checking is not available here."""
    settings = gw.settings
    try:
        log_vkey = log_service(gw).verifier.vkey
    except ExchangeError:
        return None
    witnesses = tuple(entry.partition("|")[2] for entry in settings.log_witnesses)
    quorum = settings.log_witness_quorum

    def check(_gw: Gateway, data: bytes) -> BundleCheck:
        problems = verify_bundle(data, log_vkey, witnesses, quorum)
        return BundleCheck(ok=not problems, problems=tuple(problems), facts=_facts(data, quorum))

    return check


def _facts(data: bytes, quorum: int) -> dict[str, str]:
    """What the bundle's manifest says it is about (shown beside the verdict; nothing when unreadable)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest: dict[str, Any] = json.loads(zf.read("manifest.json"))
        log = manifest.get("log") or {}
        facts = {
            "fact_document": str(manifest.get("document_id") or "—"),
            "fact_package": str((manifest.get("package") or {}).get("id") or "—"),
            "fact_origin": str(log.get("origin") or "—"),
            "fact_size": str(log.get("size") if log.get("size") is not None else "—"),
            "fact_events": str(len(manifest.get("events") or [])),
        }
    except (zipfile.BadZipFile, KeyError, ValueError, AttributeError, TypeError):
        return {}
    if quorum:
        facts["fact_witnesses"] = str(quorum)
    return facts
