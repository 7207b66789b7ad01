"""An independent verifier of the transparency log, written for the tests from RFC 9162 and the C2SP texts
(signed-note, tlog-checkpoint, tlog-cosignature, tlog-proof) only: it imports nothing of storage/tlog, and computes
proofs the "inner / border" way rather than with the RFC's loop the product uses, so a shared mistake is unlikely.
"""

from __future__ import annotations

import base64
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["Bad", "check_checkpoint", "check_consistency", "check_inclusion", "check_tlog_proof", "leaf_of"]


class Bad(Exception):
    pass


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_of(entry: bytes) -> bytes:
    return _h(b"\x00" + entry)


def _node(left: bytes, right: bytes) -> bytes:
    return _h(b"\x01" + left + right)


def _decompose(index: int, size: int) -> tuple[int, int]:
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner, border


def check_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    if not 0 <= index < size:
        raise Bad("index outside the tree")
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise Bad(f"inclusion proof of {len(proof)} hashes, expected {inner + border}")
    h = leaf
    for i, p in enumerate(proof[:inner]):
        h = _node(p, h) if (index >> i) & 1 else _node(h, p)
    for p in proof[inner:]:
        h = _node(p, h)
    if h != root:
        raise Bad("inclusion proof does not reach the root")


def check_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    if size1 == size2:
        if proof or root1 != root2:
            raise Bad("equal sizes need equal roots and no proof")
        return
    if not 0 < size1 < size2:
        raise Bad("sizes out of order")
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    if size1 == 1 << shift:
        seed, rest = root1, proof
    else:
        if not proof:
            raise Bad("empty consistency proof")
        seed, rest = proof[0], proof[1:]
    if len(rest) != inner + border:
        raise Bad("consistency proof of the wrong length")
    mask = (size1 - 1) >> shift
    h1 = seed
    for i, p in enumerate(rest[:inner]):
        if (mask >> i) & 1:
            h1 = _node(p, h1)
    for p in rest[inner:]:
        h1 = _node(p, h1)
    h2 = seed
    for i, p in enumerate(rest[:inner]):
        h2 = _node(p, h2) if (mask >> i) & 1 else _node(h2, p)
    for p in rest[inner:]:
        h2 = _node(p, h2)
    if h1 != root1 or h2 != root2:
        raise Bad("consistency proof does not reach both roots")


def _vkey(vkey: str) -> tuple[str, bytes, int, bytes]:
    name, key_id_hex, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise Bad("vkey key ID mismatch")
    return name, key_id, raw[0], raw[1:]


def check_checkpoint(note: bytes, log_vkey: str, witness_vkeys: tuple[str, ...] = ()) -> tuple[str, int, bytes, int]:
    """Verify a signed checkpoint: the log's Ed25519 signature (type 0x01) and the cosignatures (type 0x04) of
    the witnesses given; answers (origin, size, root, number of valid cosignatures)."""
    cut = note.rindex(b"\n\n")
    text, sig_block = note[:cut + 1], note[cut + 2:].decode()
    lines = text.decode().split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    keys = {}
    for vk in (log_vkey, *witness_vkeys):
        name, key_id, alg, public = _vkey(vk)
        keys[(name, key_id)] = (alg, public)
    log_ok, cosigned = False, 0
    for line in sig_block.splitlines():
        assert line.startswith("\u2014 ")
        name, b64 = line[2:].split(" ")
        blob = base64.b64decode(b64)
        known = keys.get((name, blob[:4]))
        if known is None:
            continue
        alg, public = known
        key = Ed25519PublicKey.from_public_bytes(public)
        if alg == 0x01:
            key.verify(blob[4:], text)
            log_ok = log_ok or (name, blob[:4]) == _vkey(log_vkey)[:2]
        elif alg == 0x04:
            (ts,) = struct.unpack(">Q", blob[4:12])
            key.verify(blob[12:], b"cosignature/v1\ntime %d\n" % ts + text)
            cosigned += 1
    if not log_ok:
        raise Bad("no valid log signature")
    return origin, size, root, cosigned


def check_tlog_proof(data: bytes, entry: bytes, log_vkey: str) -> int:
    """Verify a c2sp.org/tlog-proof@v1 for ``entry``; answers its index."""
    head, _, checkpoint = data.partition(b"\n\n")
    lines = head.decode().split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise Bad("not a tlog-proof")
    if lines[1].startswith("extra "):
        lines = [lines[0], *lines[2:]]
    index = int(lines[1].removeprefix("index "))
    proof = [base64.b64decode(x) for x in lines[2:]]
    _origin, size, root, _ = check_checkpoint(checkpoint, log_vkey)
    check_inclusion(leaf_of(entry), index, size, proof, root)
    return index
