"""The transparency log through the exchange, on SQLite and PostgreSQL: every event is one leaf, the sequencer
integrates them into C2SP tiles and signs checkpoints, the HTTP resources and proofs are what an independent
verifier (tests/support/tlog_verifier.py) accepts, and ``audit`` notices an edited event row."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import time
import zipfile
from pathlib import Path

import sqlalchemy as sa

from service.exchange.tlog import log_service
from storage.models import ExchangeEvent
from storage.tlog.note import Signer
from tests.support import tlog_verifier as iv
from tests.support.exchange import header, status, submit
from tests.support.gateway import A, B, C, Env
from tests.support.server import EDOC, ROOT, free_port


def _exchange(env: Env, n: int) -> None:
    for i in range(n):
        resp = submit(env, "A", header(A, [B, C], number=str(100 + i)))
        assert resp.status_code == 202, resp.text
        env.deliver()
        doc = resp.json()["id"]
        assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B")).status_code == 200
        assert status(env, "B", doc, "03").status_code == 202
        env.deliver()


def _events(env: Env) -> list[tuple[int, int | None]]:
    with env.gw.sessions() as session:
        return list(session.execute(sa.select(ExchangeEvent.id, ExchangeEvent.leaf_index).order_by(ExchangeEvent.id)))


def test_every_event_is_a_leaf_and_the_proofs_verify_independently(env: Env) -> None:
    log = log_service(env.gw)
    log.integrate_once()
    first = env.http.get("/tlog/checkpoint")
    assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=1"
    vkey = env.http.get("/api/v1/log/key", headers=env.as_("auditor")).json()["vkey"]
    _origin, size0, root0, _ = iv.check_checkpoint(first.content, vkey)

    _exchange(env, 3)
    while log.integrate_once():
        pass
    rows = _events(env)
    assert sorted(ix for _, ix in rows) == list(range(len(rows)))  # no gap, no duplicate
    note = env.http.get("/tlog/checkpoint").content
    origin, size, root, _ = iv.check_checkpoint(note, vkey)
    assert origin == env.gw.settings.node_id and size == len(rows)

    # The tiles at the tlog-tiles paths: the level-0 tile holds the leaf hashes of the entry bundle's entries.
    width = size % 256
    tile = env.http.get(f"/tlog/tile/0/000.p/{width}")
    bundle = env.http.get(f"/tlog/tile/entries/000.p/{width}")
    assert tile.status_code == 200 and tile.headers["cache-control"] == "public, max-age=31536000, immutable"
    entries, data = [], bundle.content
    while data:
        length = int.from_bytes(data[:2], "big")
        entries.append(data[2:2 + length])
        data = data[2 + length:]
    assert [iv.leaf_of(e) for e in entries] == [tile.content[i:i + 32] for i in range(0, len(tile.content), 32)]
    assert env.http.get("/tlog/tile/0/00").status_code == 404

    auditor = env.as_("auditor")
    for index in range(size):
        resp = env.http.get("/api/v1/log/proof/inclusion", params={"index": index, "size": size}, headers=auditor)
        proof = [base64.b64decode(p) for p in resp.json()["proof"]]
        iv.check_inclusion(iv.leaf_of(entries[index]), index, size, proof, root)
    if size0:
        resp = env.http.get("/api/v1/log/proof/consistency", params={"old": size0, "new": size}, headers=auditor)
        iv.check_consistency(size0, size, [base64.b64decode(p) for p in resp.json()["proof"]], root0, root)
    assert env.http.get("/api/v1/log/proof/inclusion", params={"index": 0, "size": size},
                        headers=env.as_("A")).status_code == 403
    assert env.http.get("/api/v1/log/proof/inclusion", params={"index": 0, "size": size + 1},
                        headers=auditor).status_code == 422

    assert log.audit() == []
    with env.gw.writes() as session, session.begin():
        session.execute(sa.update(ExchangeEvent).where(ExchangeEvent.leaf_index == 2).values(actor="someone else"))
    problems = log.audit()
    assert len(problems) == 1 and problems[0].startswith("leaf 2 ")


def test_evidence_bundle_verifies_offline_and_shows_an_edited_event(env: Env, tmp_path: Path) -> None:
    from service.exchange.evidence import verify_bundle

    resp = submit(env, "A", header(A, [B, C], number="77"))
    doc = resp.json()["id"]
    env.deliver()
    assert env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B")).status_code == 200
    assert status(env, "B", doc, "03").status_code == 202
    env.deliver()
    log = log_service(env.gw)
    while log.integrate_once():
        pass
    vkey = log.verifier.vkey

    bundle = env.http.get(f"/api/v1/edocs/{doc}/evidence", headers=env.as_("A"))
    assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/zip"
    assert verify_bundle(bundle.content, vkey) == []
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        kinds = {e["kind"] for e in manifest["events"]}
        assert {"submitted", "delivered", "acked"} <= kinds, kinds
        # The independent verifier accepts each tlog-proof for its leaf.
        for event in manifest["events"]:
            assert iv.check_tlog_proof(zf.read(event["proof"]), zf.read(event["leaf"]), vkey) == event["index"]
        package = zf.read(manifest["package"]["file"])
        first = json.loads(zf.read(manifest["events"][0]["leaf"]))
        assert first["package_sha256"] == hashlib.sha256(package).hexdigest()
    assert env.http.get(f"/api/v1/edocs/{doc}/evidence", headers=env.as_("auditor")).status_code == 200
    other = submit(env, "B", header(B, [C], number="78")).json()["id"]
    assert env.http.get(f"/api/v1/edocs/{other}/evidence", headers=env.as_("A")).status_code in (403, 404)

    path = tmp_path / "evidence.zip"
    path.write_bytes(bundle.content)
    ok = subprocess.run([str(EDOC), "evidence", "verify", str(path), "--log-key", vkey], capture_output=True,
                        text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = Signer.generate(log.origin).verifier.vkey
    bad = subprocess.run([str(EDOC), "evidence", "verify", str(path), "--log-key", wrong], capture_output=True,
                         text=True, cwd=ROOT)
    assert bad.returncode == 1 and "Traceback" not in bad.stdout + bad.stderr

    # Someone edits the delivered event in the database: the bundle built now no longer verifies, and the audit
    # says which leaf.
    with env.gw.writes() as session, session.begin():
        edited = session.execute(
            sa.select(ExchangeEvent.leaf_index).where(ExchangeEvent.package_id == doc, ExchangeEvent.kind == "acked")
        ).scalar_one()
        session.execute(sa.update(ExchangeEvent).where(ExchangeEvent.leaf_index == edited).values(
            detail={"note": "acked much later"}))
    tampered = env.http.get(f"/api/v1/edocs/{doc}/evidence", headers=env.as_("A")).content
    problems = verify_bundle(tampered, vkey)
    assert len(problems) == 1 and f"leaf {edited}, acked" in problems[0], problems
    assert [p.split(" ")[1] for p in log.audit()] == [str(edited)]


def test_witnesses_cosign_the_checkpoints_the_node_serves(env: Env, tmp_path: Path) -> None:
    import threading

    import uvicorn

    from service.exchange.witness import Witness, WitnessPush, witness_app

    log = log_service(env.gw)
    witness = Witness.open(name="witness.test/w1", key_file=tmp_path / "w.pem", state_file=tmp_path / "w.json",
                           log_keys=[log.verifier.vkey])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(witness_app(witness), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        push = WitnessPush.from_settings((f"http://127.0.0.1:{port}|{witness.verifier.vkey}",), 1)
        pushed: list[int] = []
        log.on_checkpoint = lambda service, note, size: (push.push(service, note, size), pushed.append(size))
        for n in range(2):
            assert submit(env, "A", header(A, [B], number=str(90 + n))).status_code == 202
            env.deliver()
            log.integrate_once()
            assert pushed[-1] == log.state().size
            note = env.http.get("/tlog/checkpoint").content
            _o, size, _r, cosigned = iv.check_checkpoint(note, log.verifier.vkey, (witness.verifier.vkey,))
            assert cosigned == 1 and size == log.state().size
        log.on_checkpoint = push  # as the node runs it: pushed from a thread of its own, the sequencer never waits
        assert submit(env, "A", header(A, [B], number="99")).status_code == 202
        env.deliver()
        log.integrate_once()
        deadline = time.monotonic() + 20
        while True:
            _o, size, _r, cosigned = iv.check_checkpoint(env.http.get("/tlog/checkpoint").content, log.verifier.vkey,
                                                         (witness.verifier.vkey,))
            if cosigned == 1 and size == log.state().size:
                break
            assert time.monotonic() < deadline, "the checkpoint was not cosigned"
            time.sleep(0.05)
    finally:
        log.on_checkpoint = None
        server.should_exit = True
        thread.join(timeout=10)
