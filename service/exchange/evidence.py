"""Evidence bundles (issue 21 item 4; docs/evidence.md): everything that proves what happened to a document, in
one zip an auditor checks offline with ``edoc evidence verify BUNDLE.zip --log-key VKEY``.

Layout of the zip:

- ``manifest.json``: format ``edoc-evidence/1``, the package, the log's origin and vkey, the checkpoint's size,
  and per event its leaf index and files (events not yet in the signed tree are listed as ``pending``);
- ``package/<id>.edxml``: the package as this node stored and delivered it (its SHA-256 is the leaf's
  ``package_sha256``); for an auditor only with a reason (it is a content read, logged);
- ``record.json``: the package's record: deliveries, status history, XML-DSig report, attachments with their PDF
  verification reports;
- ``log/<index>.json``: the leaf bytes of each event (docs/evidence.md), ``log/<index>.tlog-proof``: its C2SP
  tlog-proof (inclusion proof and the checkpoint);
- ``checkpoint``: the signed checkpoint the proofs lead to, with the witnesses' cosignatures when it has them.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

from service.exchange import inbox
from service.exchange.directory import Caller
from service.exchange.errors import ExchangeError
from service.exchange.tlog import log_service
from storage.tlog import store as tlog_store
from storage.tlog.errors import TlogError
from storage.tlog.leaf import encode_leaf
from storage.tlog.merkle import inclusion_proof, leaf_hash, verify_inclusion
from storage.tlog.note import TlogProof, Verifier, open_note, parse_checkpoint

if TYPE_CHECKING:
    from service.context import Gateway

__all__ = ["FORMAT", "build_bundle", "verify_bundle"]

FORMAT = "edoc-evidence/1"


def build_bundle(gw: Gateway, caller: Caller, package_id: str, *, reason: str | None = None) -> bytes:
    """The evidence zip of a package, for a caller who may read its record (sender, recipients, auditors)."""
    service = log_service(gw)
    with gw.sessions() as session:
        record = inbox.package_record(session, caller, package_id)  # the access check, and the history it shows
        latest = tlog_store.read_state(session).size
        size, note = service.served(session)  # with quorum witnesses: the latest cosigned checkpoint
        ids = [package_id, *tlog_store.response_package_ids(session, package_id)]
        events = tlog_store.events_of_document(session, record["document_id"], ids)
        shown = {d["to"] for d in record["deliveries"]} | {record["from"]}
        events = [e for e in events if e["agency_code"] is None or e["agency_code"] in shown]
        oracle = service.oracle(session, latest)
        logged = [e["leaf_index"] for e in events if e["leaf_index"] < size]
        oracle.plan(lambda subtree: [inclusion_proof(subtree, i, size) for i in logged])  # one query
        listed: list[dict[str, Any]] = []
        files: dict[str, bytes] = {"checkpoint": note}
        for row in events:
            index = row["leaf_index"]
            entry = {"index": index, "event": row["id"], "kind": row["kind"], "leaf": f"log/{index}.json"}
            files[entry["leaf"]] = encode_leaf(row)
            if index < size:
                proof = TlogProof(index, tuple(inclusion_proof(oracle.subtree, index, size)), note)
                entry["proof"] = f"log/{index}.tlog-proof"
                files[entry["proof"]] = proof.encode()
            else:
                entry["pending"] = True
            listed.append(entry)
    package: dict[str, Any] = {"id": package_id, "sha256": None, "file": None}
    try:
        blob = inbox.edxml_of(gw, caller, package_id, reason=reason)
    except ExchangeError as exc:  # no right to the content (an auditor without a reason, a recalled copy)
        package["omitted"] = exc.code
    else:
        data = gw.blobs.read(blob.blob_sha256, blob.size)
        package.update(sha256=hashlib.sha256(data).hexdigest(), file=f"package/{package_id}.edxml")
        files[package["file"]] = data
    files["record.json"] = json.dumps(record, ensure_ascii=False, indent=1, default=str).encode()
    manifest = {
        "format": FORMAT,
        "package": package,
        "document_id": record["document_id"],
        "log": {"origin": service.origin, "vkey": service.verifier.vkey, "size": size},
        "events": listed,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def verify_bundle(data: bytes, log_vkey: str, witness_vkeys: tuple[str, ...] = (), quorum: int = 0) -> list[str]:
    """Check an evidence zip offline; answers one line per problem (none: it verifies)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(zf.read("manifest.json"))
        if manifest.get("format") != FORMAT:
            return [f"not an {FORMAT} bundle"]
        log_verifier = Verifier.parse(log_vkey)
        witnesses = [Verifier.parse(v) for v in witness_vkeys]
    except (zipfile.BadZipFile, KeyError, ValueError, TlogError) as exc:
        return [f"unreadable bundle or key: {exc}"]
    problems: list[str] = []
    checkpoint = _check_checkpoint(zf.read("checkpoint"), log_verifier, witnesses, quorum, problems)
    package = manifest.get("package") or {}
    package_sha = None
    if package.get("file"):
        package_sha = hashlib.sha256(zf.read(package["file"])).hexdigest()
        if package_sha != package.get("sha256"):
            problems.append(f"{package['file']}: its SHA-256 is not the one the manifest names")
    for event in manifest.get("events", []):
        problems += _check_event(zf, event, package.get("id"), package_sha, checkpoint)
    return problems


def _check_checkpoint(note: bytes, log: Verifier, witnesses: list[Verifier], quorum: int, problems: list[str]
                      ) -> tuple[int, bytes] | None:
    try:
        opened, verified = open_note(note, [log, *witnesses])
        cp = parse_checkpoint(opened.text)
    except TlogError as exc:
        problems.append(f"checkpoint: {exc}")
        return None
    if not any(v == log for v, _ in verified):
        problems.append("checkpoint: not signed by the log key")
        return None
    if cp.origin != log.name:
        problems.append(f"checkpoint: origin {cp.origin} is not the log key's name {log.name}")
    cosigned = sum(1 for v, _ in verified if v in witnesses)
    if cosigned < quorum:
        problems.append(f"checkpoint: {cosigned} valid witness cosignatures, {quorum} required")
    return cp.size, cp.root


def _check_event(zf: zipfile.ZipFile, event: dict[str, Any], package_id: str | None, package_sha: str | None,
                 checkpoint: tuple[int, bytes] | None) -> list[str]:
    index = event.get("index")
    where = f"event {event.get('event')} (leaf {index}, {event.get('kind')})"
    try:
        leaf = zf.read(event["leaf"])
        fields = json.loads(leaf)
    except (KeyError, ValueError):
        return [f"{where}: its leaf is missing or not JSON"]
    problems = []
    if fields.get("index") != index:
        problems.append(f"{where}: the leaf names index {fields.get('index')}")
    if package_sha and fields.get("package_id") == package_id and fields.get("package_sha256") != package_sha:
        problems.append(f"{where}: the package's SHA-256 is not the one logged")
    if event.get("pending"):
        return [*problems, f"{where}: not yet in the signed tree (fetch a newer bundle)"]
    if checkpoint is None:
        return problems
    try:
        proof = TlogProof.parse(zf.read(event["proof"]))
        if proof.index != index:
            raise TlogError(f"the proof is for index {proof.index}")
        size, root = checkpoint
        if parse_checkpoint(proof.checkpoint[:proof.checkpoint.rfind(b"\n\n") + 1]) != parse_checkpoint(
                zf.read("checkpoint")[:zf.read("checkpoint").rfind(b"\n\n") + 1]):
            raise TlogError("the proof's checkpoint is not the bundle's")
        verify_inclusion(leaf_hash(leaf), index, size, list(proof.proof), root)
    except KeyError:
        problems.append(f"{where}: its inclusion proof is missing")
    except TlogError as exc:
        problems.append(f"{where}: the event is not the logged one ({exc})")
    return problems

