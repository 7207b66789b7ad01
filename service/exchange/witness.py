"""Witnesses (issue 21 item 3; C2SP tlog-witness and tlog-cosignature).

:class:`Witness` is ``edoc witness``: it keeps, per log origin, the last checkpoint it cosigned (a JSON file
replaced atomically under a lock, so checking the old size and recording the new checkpoint are one step), and
answers ``POST /add-checkpoint`` as tlog-witness says: 404 unknown origin, 403 no valid log signature, 400 old size
above the checkpoint's, 409 with ``text/x.tlog.size`` when the old size is not the one it cosigned last, 422 when
the consistency proof does not verify (a fork), else 200 and its cosignature line (Ed25519, type 0x04).

:class:`WitnessPush` is the node's side: after each checkpoint the sequencer pushes it to the configured witnesses
(``EDOC_LOG_WITNESSES``: ``<url>|<witness vkey>``), with a consistency proof from the size each witness cosigned
last (learned from a 409), and keeps the cosigned checkpoint once ``EDOC_LOG_WITNESS_QUORUM`` witnesses answered.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key
from fastapi import FastAPI, Request
from fastapi.responses import Response

from storage.tlog.errors import NoteError, ProofError, TlogError
from storage.tlog.merkle import EMPTY_ROOT, verify_consistency
from storage.tlog.note import ALG_COSIGNATURE, Signer, Verifier, open_note, parse_checkpoint, parse_note


class PushedLog(Protocol):
    """What a witness push needs of the node's log (service/exchange/tlog.py ``PushedLog``): a consistency proof
    between two sizes, and where to keep a cosigned checkpoint. A Protocol, so that the log imports this module
    and not the other way round."""

    def consistency(self, old: int, new: int) -> list[bytes]: ...

    def record_cosigned(self, size: int, note: bytes) -> None: ...

__all__ = ["PushedLog", "Witness", "WitnessPush", "serve_witness", "witness_app"]

logger = logging.getLogger("edoc.witness")
SIZE_TYPE = "text/x.tlog.size"


def _load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


@dataclass
class Witness:
    signer: Signer
    state_file: Path
    logs: dict[str, Verifier]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, *, name: str, key_file: Path, state_file: Path, log_keys: list[str]) -> Witness:
        verifiers = [Verifier.parse(v) for v in log_keys]
        return cls(Signer(name, _load_or_create_key(key_file), ALG_COSIGNATURE), state_file,
                   {v.name: v for v in verifiers})

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.state_file.read_text())
            return data
        except FileNotFoundError:
            return {}

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_file)

    def add_checkpoint(self, body: bytes) -> tuple[int, bytes, str]:
        """Answer a tlog-witness ``add-checkpoint`` request: (HTTP status, body, content type)."""
        head, sep, note = body.partition(b"\n\n")
        if not sep:
            return 400, b"a request is the old size, the proof lines, a blank line and the checkpoint\n", "text/plain"
        lines = head.decode("utf-8", errors="replace").split("\n")
        old_text = lines[0].removeprefix("old ")
        if not lines[0].startswith("old ") or not old_text.isdigit() or (old_text != "0" and old_text[0] == "0"):
            return 400, b"the first line is old <size>\n", "text/plain"
        try:
            proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
        except binascii.Error:
            return 400, b"a proof line is not base64\n", "text/plain"
        if len(proof) > 63:
            return 400, b"more than 63 proof lines\n", "text/plain"
        try:
            origin = parse_note(note).text.split(b"\n", 1)[0].decode()
        except (TlogError, UnicodeDecodeError):
            return 400, b"not a signed note\n", "text/plain"
        verifier = self.logs.get(origin)
        if verifier is None:
            return 404, b"unknown log origin\n", "text/plain"
        try:
            opened, _ = open_note(note, [verifier])
            cp = parse_checkpoint(opened.text)
        except NoteError as exc:
            return 403, f"{exc}\n".encode(), "text/plain"
        old = int(old_text)
        if old > cp.size:
            return 400, b"the old size is above the checkpoint's\n", "text/plain"
        with self._lock:  # the check and the record are one step (tlog-witness: the race it describes)
            state = self._read()
            known = state.get(origin, {"size": 0, "root": base64.b64encode(EMPTY_ROOT).decode()})
            if known["size"] != old:
                return 409, f"{known['size']}\n".encode(), SIZE_TYPE
            if cp.size == 0 and cp.root != EMPTY_ROOT:
                return 422, b"a tree of size 0 has the empty root\n", "text/plain"
            try:
                if old == 0:
                    if proof:
                        raise ProofError("a proof from size 0 must be empty")
                else:
                    verify_consistency(old, cp.size, proof, base64.b64decode(known["root"]), cp.root)
            except ProofError as exc:
                logger.warning("witness: %s refused at %d -> %d: %s", origin, old, cp.size, exc)
                return 422, f"{exc}\n".encode(), "text/plain"
            state[origin] = {"size": cp.size, "root": base64.b64encode(cp.root).decode(), "note": note.decode()}
            self._write(state)
        return 200, self.signer.signature_line(opened.text).encode(), "text/plain; charset=utf-8"


def witness_app(witness: Witness) -> FastAPI:
    app = FastAPI(title="edoc witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        status, data, media = witness.add_checkpoint(body[:1 << 20])
        return Response(data, status_code=status, media_type=media)

    return app


def serve_witness(witness: Witness, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(witness_app(witness), host=host, port=port, log_level="warning")


@dataclass
class WitnessPush:
    """The node pushing checkpoints to its witnesses (the sequencer's ``on_checkpoint``)."""

    witnesses: list[tuple[str, Verifier]]
    quorum: int
    timeout: float = 5.0
    sizes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, entries: tuple[str, ...], quorum: int) -> WitnessPush:
        parsed = []
        for entry in entries:
            url, _, vkey = entry.partition("|")
            parsed.append((url.rstrip("/"), Verifier.parse(vkey)))
        return cls(parsed, quorum)

    _latest: tuple[PushedLog, bytes, int] | None = field(default=None, init=False, repr=False)
    _wake: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def __call__(self, log: PushedLog, note: bytes, size: int) -> None:
        """Hand the new checkpoint to the pushing thread and return at once: a slow or absent witness never delays
        the next checkpoint. Only the latest checkpoint waits; one the witnesses had no time for is skipped."""
        with self._wake:
            self._latest = (log, note, size)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="edoc-witness-push", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._latest is None:
                    self._wake.wait()
                log, note, size = self._latest
                self._latest = None
            try:
                self.push(log, note, size)
            except Exception:  # the next checkpoint tries again
                logger.exception("witness push failed")

    def push(self, log: PushedLog, note: bytes, size: int) -> None:
        """Push one checkpoint to every witness now, and keep it cosigned once the quorum answered."""
        lines = [line for url, verifier in self.witnesses if (line := self._push(log, url, verifier, note, size))]
        if len(lines) >= max(1, self.quorum):
            log.record_cosigned(size, note + "".join(lines).encode())

    def _push(self, log: PushedLog, url: str, verifier: Verifier, note: bytes, size: int) -> str | None:
        import httpx

        for _ in range(2):  # a 409 tells the size the witness holds: once more from there
            old = self.sizes.get(url, 0)
            try:
                proof = log.consistency(old, size) if 0 < old <= size else []
                body = f"old {old}\n".encode() + "".join(
                    base64.b64encode(h).decode() + "\n" for h in proof).encode() + b"\n" + note
                resp = httpx.post(f"{url}/add-checkpoint", content=body, timeout=self.timeout)
            except Exception as exc:  # a witness down or a proof it cannot get must not stop the log
                logger.warning("witness %s: %s", url, exc)
                return None
            if resp.status_code == 409 and resp.text.strip().isdigit():
                self.sizes[url] = int(resp.text.strip())
                continue
            if resp.status_code != 200:
                logger.warning("witness %s refused the checkpoint of size %d: %d %s", url, size, resp.status_code,
                               resp.text.strip()[:200])
                return None
            self.sizes[url] = size
            try:
                open_note(note + resp.content, [verifier])
            except NoteError as exc:
                logger.warning("witness %s: its cosignature does not verify: %s", url, exc)
                return None
            return "".join(line + "\n" for line in resp.text.splitlines()
                           if line.startswith(f"\u2014 {verifier.name} "))
        return None
