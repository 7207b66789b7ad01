"""The exchange's transparency log (issue 21; docs/evidence.md): the sequencer that integrates new event leaves
into C2SP tiles and cuts a signed checkpoint, the proofs the API serves, and the log key.

Leaf indexes: on SQLite a trigger assigns them in the transaction of each event; on PostgreSQL the sequencer gives
the committed events still without one the next indexes, in id order, in the transaction that integrates them
(storage/migrations 0009_tlog explains why). The sequencer then reads the leaves after the tree's size in index
order; it never changes anything else of an event. One
sequencer works at a time (the ``tlog_state`` row is locked for its transaction; another one skips the round),
and each round is one transaction after its tiles are in the object store, so a sequencer killed at any point
leaves a consistent tree that the next round continues.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from sqlalchemy.orm import Session

from service.exchange.errors import Invalid, NotFound
from storage.tlog import store as tlog_store
from storage.tlog.errors import TileNotFound, TlogError
from storage.tlog.leaf import encode_leaf
from storage.tlog.merkle import EMPTY_ROOT, CompactRange, consistency_proof, inclusion_proof, leaf_hash, tree_hash
from storage.tlog.note import Signer, Verifier, format_checkpoint, open_note, parse_checkpoint, sign_note
from storage.tlog.tiles import TILE_WIDTH, TileOracle, TileRead, extend, parse_tile_path

if TYPE_CHECKING:
    from service.context import Gateway
    from service.settings import Settings

__all__ = ["LogService", "b64_lines", "load_log_key", "log_key_path", "log_service"]

logger = logging.getLogger("edoc.tlog")


def log_key_path(settings: Settings) -> Path:
    return settings.log_key_file or settings.data_dir / "keys" / "log-ed25519.pem"


def load_log_key(settings: Settings, *, create: bool = True) -> Signer:
    """The node's Ed25519 log key (PEM PKCS#8), named after the log's origin. Outside production a missing key
    file is generated (0600, published by a hard link: two processes starting together end with one key)."""
    path = log_key_path(settings)
    name = settings.log_origin or settings.node_id
    if not path.exists():
        if not create or settings.environment == "production":
            raise Invalid(f"the log key {path} does not exist (edoc keys log)", code="log_key_missing")
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # complete or absent: another process starting at once keeps its own or ours
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise Invalid(f"the log key {path} is not an Ed25519 key", code="log_key_invalid")
    return Signer(name, key)


@dataclass
class LogService:
    """The log of one node: integrating, checkpoints, tiles and proofs."""

    gw: Gateway
    #: Called with each new signed checkpoint (the witness push, service/exchange/witness.py).
    on_checkpoint: Callable[[LogService, bytes, int], None] | None = None
    _signer: Signer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        settings = self.gw.settings
        if self.on_checkpoint is None and settings.log_witnesses:
            from service.exchange.witness import WitnessPush

            self.on_checkpoint = WitnessPush.from_settings(settings.log_witnesses, settings.log_witness_quorum)

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = load_log_key(self.gw.settings)
        return self._signer

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    # --- the sequencer ---

    def integrate_once(self, limit: int | None = None) -> int:
        """Integrate the committed leaves after the tree's size (at most ``limit``) and sign a checkpoint; answers
        how many leaves were added (0: nothing new, or another sequencer holds the log)."""
        batch = limit or self.gw.settings.log_batch
        store = self.gw.store
        with self.gw.writes() as session, session.begin():
            state = tlog_store.lock_state(session)
            if state is None:
                return 0
            rows = tlog_store.event_rows(session, state.size, state.size + batch)
            if len(rows) < batch and tlog_store.assign_pending(session, state.size + len(rows), batch - len(rows)):
                rows = tlog_store.event_rows(session, state.size, state.size + batch)
            if not rows and state.checkpoint is not None:
                return 0
            entries = [encode_leaf(row) for row in rows]
            hashes = [leaf_hash(e) for e in entries]
            read = tlog_store.tile_reader(session, store)
            writes = extend(read, state.size, hashes, entries)
            new_size = state.size + len(rows)
            written = {w.path: w.data for w in writes}

            def read_new(path: str) -> bytes:
                return written[path] if path in written else read(path)

            root = tree_hash(TileOracle(read_new, new_size).subtree, new_size)
            tlog_store.record_tiles(session, tlog_store.write_tiles(store, writes))
            note = sign_note(format_checkpoint(self.origin, new_size, root), [self.signer])
            tlog_store.record_checkpoint(session, new_size, root.hex(), note.decode())
        if self.on_checkpoint is not None:
            self.on_checkpoint(self, note, new_size)
        return len(rows)

    def run_forever(self, stop: threading.Event) -> None:
        """Integrate until ``stop``: at once while a full batch came, else ``log_checkpoint_seconds`` after the
        previous round started."""
        pause = self.gw.settings.log_checkpoint_seconds
        logger.info("log sequencer started (origin %s)", self.origin)
        while not stop.is_set():
            started = time.monotonic()
            try:
                if self.integrate_once() >= self.gw.settings.log_batch:
                    continue
            except Exception:  # the next round starts from the committed state
                logger.exception("log sequencer: round failed")
            # One checkpoint per period while events arrive, not one per round: a round's cost (tiles, signature,
            # rows) is paid per checkpoint, so back-to-back rounds of a few events each cost the exchange CPU.
            stop.wait(max(0.0, pause - (time.monotonic() - started)))

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, args=(stop,), name="edoc-tlog", daemon=True)
        thread.start()
        return thread

    # --- reading ---

    def state(self) -> tlog_store.State:
        with self.gw.sessions() as session:
            return tlog_store.read_state(session)

    def checkpoint(self) -> bytes | None:
        """The latest signed checkpoint, with its witnesses' cosignatures when it has them; when witnesses are
        required (``log_witness_quorum``), the latest checkpoint that has them."""
        with self.gw.sessions() as session:
            return self.served(session)[1] or None

    def served(self, session: Session) -> tuple[int, bytes]:
        """The size and note of the checkpoint this node serves (and proves against in evidence bundles)."""
        if self.gw.settings.log_witness_quorum > 0:
            row = tlog_store.latest_cosigned(session)
            return (row.size, (row.cosigned or "").encode()) if row is not None else (0, b"")
        state = tlog_store.read_state(session)
        return state.size, (state.cosigned or state.checkpoint or "").encode()

    def record_cosigned(self, size: int, note: bytes) -> None:
        with self.gw.writes() as session, session.begin():
            tlog_store.set_cosigned(session, size, note.decode())

    def _reader(self, session: Session) -> TileRead:
        return tlog_store.tile_reader(session, self.gw.store)

    def tile(self, path: str) -> bytes:
        """A tile or entry bundle by its tlog-tiles path (``tile/...``)."""
        try:
            parse_tile_path(path)
        except TlogError as exc:
            raise NotFound(f"no tile {path}", code="tile_not_found") from exc
        with self.gw.sessions() as session:
            try:
                return self._reader(session)(path)
            except TileNotFound as exc:
                raise NotFound(f"no tile {path}", code="tile_not_found") from exc

    def oracle(self, session: Session, latest: int) -> TileOracle:
        return TileOracle(self._reader(session), latest, tlog_store.tile_reader_many(session, self.gw.store))

    def inclusion(self, index: int, size: int) -> list[bytes]:
        with self.gw.sessions() as session:
            latest = tlog_store.read_state(session).size
            self._check_sizes(size, latest)
            if not 0 <= index < size:
                raise Invalid(f"index {index} is not in a tree of size {size}", code="log_index_out_of_range")
            oracle = self.oracle(session, latest)
            oracle.plan(lambda subtree: inclusion_proof(subtree, index, size))  # its tiles in one query
            return inclusion_proof(oracle.subtree, index, size)

    def consistency(self, old: int, new: int) -> list[bytes]:
        with self.gw.sessions() as session:
            latest = tlog_store.read_state(session).size
            self._check_sizes(new, latest)
            if not 0 <= old <= new:
                raise Invalid(f"no consistency proof from size {old} to {new}", code="log_size_out_of_range")
            oracle = self.oracle(session, latest)
            oracle.plan(lambda subtree: consistency_proof(subtree, old, new))
            return consistency_proof(oracle.subtree, old, new)

    # --- the self-audit (edoc log audit) ---

    def audit(self, chunk: int = TILE_WIDTH * 16) -> list[str]:
        """Recompute the tree from the event rows and compare it with the stored tiles and every checkpoint;
        answers one line per problem (none: the rows are those the log signed). Streams: O(log n) memory."""
        problems: list[str] = []
        with self.gw.sessions() as session:
            state = tlog_store.read_state(session)
            read = self._reader(session)
            marks = {c.size: c for c in tlog_store.checkpoints(session, limit=10**9)}
            tree = CompactRange()
            for start in range(0, state.size, chunk):
                end = min(state.size, start + chunk)
                rows = tlog_store.event_rows(session, start, end)
                if len(rows) < end - start:
                    problems.append(f"leaf {start + len(rows)}: no event row has this index (deleted?)")
                    return problems
                tiles = TileOracle(read, state.size)
                for row in rows:
                    index = row["leaf_index"]
                    computed = leaf_hash(encode_leaf(row))
                    stored = tiles.tile(0, index // TILE_WIDTH)[index % TILE_WIDTH]
                    if computed != stored:
                        problems.append(f"leaf {index} (event {row['id']}, {row['kind']}): the row differs from the "
                                        "logged leaf")
                    tree.append(stored)
                    mark = marks.get(tree.size)
                    if mark is not None:
                        problems += self._audit_checkpoint(mark.note, tree.size, tree.root())
            if tree.root().hex() != state.root:
                problems.append(f"the stored root of size {state.size} is not the root of the stored tiles")
            if 0 in marks:
                problems += self._audit_checkpoint(marks[0].note, 0, EMPTY_ROOT)
        return problems

    def _audit_checkpoint(self, note: str, size: int, root: bytes) -> list[str]:
        try:
            opened, _ = open_note(note.encode(), [self.verifier])
            cp = parse_checkpoint(opened.text)
        except TlogError as exc:
            return [f"checkpoint {size}: {exc}"]
        if cp.size != size or cp.root != root or cp.origin != self.origin:
            return [f"checkpoint {size}: its root is not the root of the stored tiles at that size"]
        return []

    @staticmethod
    def _check_sizes(size: int, latest: int) -> None:
        if not 0 < size <= latest:
            raise Invalid(f"size {size} is not a tree size of the log (1..{latest})", code="log_size_out_of_range")


def b64_lines(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


_SERVICES: dict[int, LogService] = {}


def log_service(gw: Gateway) -> LogService:
    """The one :class:`LogService` of a gateway (its key loaded once per process)."""
    service = _SERVICES.get(id(gw))
    if service is None or service.gw is not gw:
        service = _SERVICES[id(gw)] = LogService(gw)
    return service
