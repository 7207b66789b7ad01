"""C2SP signed notes, checkpoints, Ed25519 cosignatures and tlog-proofs.

- signed-note: text ending in a newline, a blank line, then lines ``— <name> base64(keyid[4] || signature)``;
  key ID = SHA-256(name || 0x0A || type || public key)[:4]; a verifier key (vkey) is
  ``<name>+<hex keyid>+base64(type || public key)``. Type 0x01: Ed25519 over the note text.
- tlog-checkpoint: the text is ``<origin>\\n<size>\\n<base64 root>\\n``.
- tlog-cosignature (type 0x04): Ed25519 over ``cosignature/v1\\ntime <t>\\n`` + the checkpoint text, the signature
  being ``u64 timestamp || 64-byte Ed25519 signature``.
- tlog-proof: ``c2sp.org/tlog-proof@v1``, optional ``extra``, ``index <i>``, the inclusion proof lines, a blank line,
  the checkpoint verbatim.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from storage.tlog.errors import NoteError
from storage.tlog.merkle import HASH_SIZE

__all__ = [
    "ALG_COSIGNATURE",
    "ALG_ED25519",
    "Checkpoint",
    "NoteSignature",
    "Signer",
    "TlogProof",
    "Verifier",
    "cosignature_message",
    "format_checkpoint",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "sign_note",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE = 0x04
DASH = "\u2014"
PROOF_HEADER = "c2sp.org/tlog-proof@v1"


def key_id(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"not a key name: {name!r}")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A verifier key: name, signature type (0x01 note signature, 0x04 cosignature) and Ed25519 public key."""

    name: str
    alg: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([self.alg]) + self.public).decode()}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key is <name>+<key id>+<base64 key>")
        name, hex_id, b64 = parts
        _check_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("a verifier key is not well encoded") from exc
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE) or len(hex_id) != 8:
            raise NoteError("not an Ed25519 verifier key (type 0x01 or 0x04)")
        verifier = cls(name, raw[0], raw[1:])
        if verifier.key_id != wanted:
            raise NoteError("the key ID of the verifier key does not match its name and key")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> int | None:
        """Raise :class:`NoteError` unless ``signature`` (without the key ID) verifies over ``text``; answers the
        cosignature's timestamp for type 0x04."""
        key = Ed25519PublicKey.from_public_bytes(self.public)
        timestamp = None
        message = text
        if self.alg == ALG_COSIGNATURE:
            if len(signature) != 72:
                raise NoteError(f"a cosignature by {self.name} is not 72 bytes")
            (timestamp,) = struct.unpack(">Q", signature[:8])
            message, signature = cosignature_message(text, timestamp), signature[8:]
        try:
            key.verify(signature, message)
        except InvalidSignature as exc:
            raise NoteError(f"the signature by {self.name} does not verify") from exc
        return timestamp


@dataclass(frozen=True)
class Signer:
    """An Ed25519 signing key with its name; ``alg`` 0x01 for a log, 0x04 for a witness's cosignatures."""

    name: str
    private: Ed25519PrivateKey
    alg: int = ALG_ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def generate(cls, name: str, alg: int = ALG_ED25519) -> Signer:
        return cls(name, Ed25519PrivateKey.generate(), alg)

    @classmethod
    def from_seed(cls, name: str, seed: bytes, alg: int = ALG_ED25519) -> Signer:
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed), alg)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.alg, _raw_public(self.private.public_key()))

    def signature_line(self, text: bytes, *, timestamp: int | None = None) -> str:
        kid = self.verifier.key_id
        if self.alg == ALG_COSIGNATURE:
            ts = int(time.time()) if timestamp is None else timestamp
            sig = struct.pack(">Q", ts) + self.private.sign(cosignature_message(text, ts))
        else:
            sig = self.private.sign(text)
        return f"{DASH} {self.name} {base64.b64encode(kid + sig).decode()}\n"


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes
    line: str


@dataclass
class Note:
    text: bytes
    signatures: list[NoteSignature] = field(default_factory=list)

    def encode(self) -> bytes:
        return self.text + b"\n" + "".join(s.line for s in self.signatures).encode()


def sign_note(text: bytes, signers: Sequence[Signer]) -> bytes:
    _check_text(text)
    return text + b"\n" + "".join(s.signature_line(text) for s in signers).encode()


def _check_text(text: bytes) -> None:
    if not text.endswith(b"\n"):
        raise NoteError("a note text ends with a newline")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("a note is not UTF-8") from exc
    if any(ord(c) < 0x20 and c != "\n" for c in decoded):
        raise NoteError("a note holds a control character")


def parse_note(data: bytes) -> Note:
    """Split a signed note into its text and signature lines (nothing verified)."""
    cut = data.rfind(b"\n\n")
    if cut < 0 or not data.endswith(b"\n"):
        raise NoteError("a signed note is text, a blank line and signature lines")
    text, sigs = data[:cut + 1], data[cut + 2:]
    _check_text(text)
    note = Note(text)
    for raw in sigs.decode("utf-8", errors="strict").splitlines():
        prefix = DASH + " "
        if not raw.startswith(prefix):
            raise NoteError("a signature line starts with an em dash and a space")
        parts = raw[len(prefix):].split(" ")
        if len(parts) != 2:
            raise NoteError("a signature line is a key name and a base64 signature")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except binascii.Error as exc:
            raise NoteError("a signature is not base64") from exc
        if len(blob) < 5:
            raise NoteError("a signature is too short")
        note.signatures.append(NoteSignature(parts[0], blob[:4], blob[4:], raw + "\n"))
    if not note.signatures:
        raise NoteError("a signed note has at least one signature")
    return note


def open_note(data: bytes, verifiers: Sequence[Verifier]) -> tuple[Note, list[tuple[Verifier, int | None]]]:
    """Parse and verify a note: every signature of a known key (name and key ID) must verify, at least one must
    be there; unknown signatures are ignored. Answers the note and the verifiers whose signature verified (with
    the cosignature timestamp)."""
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[tuple[Verifier, int | None]] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is not None:
            verified.append((verifier, verifier.verify(note.text, sig.signature)))
    if not verified:
        raise NoteError("no signature of a known key on the note")
    return note, verified


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> bytes:
        return format_checkpoint(self.origin, self.size, self.root)


def format_checkpoint(origin: str, size: int, root: bytes) -> bytes:
    if not origin or "\n" in origin or len(root) != HASH_SIZE or size < 0:
        raise NoteError("not a checkpoint")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n".encode()


def parse_checkpoint(text: bytes) -> Checkpoint:
    lines = text.decode("utf-8").split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise NoteError("a checkpoint is at least three non-empty lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError("a checkpoint tree size is a decimal number without leading zeroes")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error as exc:
        raise NoteError("a checkpoint root hash is not base64") from exc
    if len(digest) != HASH_SIZE:
        raise NoteError("a checkpoint root hash is not 32 bytes")
    return Checkpoint(origin, int(size), digest)


@dataclass(frozen=True)
class TlogProof:
    """A C2SP tlog-proof: an index, its inclusion proof and the signed checkpoint (note bytes)."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def encode(self) -> bytes:
        lines = [PROOF_HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode() for h in self.proof]
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint

    @classmethod
    def parse(cls, data: bytes) -> TlogProof:
        head, sep, checkpoint = data.partition(b"\n\n")
        if not sep:
            raise NoteError("a tlog-proof has a blank line before its checkpoint")
        lines = head.decode("utf-8").split("\n")
        if lines[0] != PROOF_HEADER:
            raise NoteError("not a c2sp.org/tlog-proof@v1")
        extra = None
        rest = lines[1:]
        try:
            if rest and rest[0].startswith("extra "):
                extra = base64.b64decode(rest[0][6:], validate=True)
                rest = rest[1:]
            if not rest or not rest[0].startswith("index "):
                raise NoteError("a tlog-proof names the index of its entry")
            index_text = rest[0][6:]
            if not index_text.isdigit() or (index_text != "0" and index_text.startswith("0")):
                raise NoteError("a tlog-proof index is a decimal number")
            proof = tuple(base64.b64decode(line, validate=True) for line in rest[1:])
        except binascii.Error as exc:
            raise NoteError("a tlog-proof line is not base64") from exc
        if any(len(h) != HASH_SIZE for h in proof):
            raise NoteError("a tlog-proof hash is not 32 bytes")
        return cls(int(index_text), proof, checkpoint, extra)
