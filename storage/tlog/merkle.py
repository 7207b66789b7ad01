"""RFC 9162 (RFC 6962) Merkle trees: hashing, tree heads, inclusion and consistency proofs.

Framework-free and storage-free: proofs are generated against a *subtree hash oracle* (``subtree(level, index)``
answers the hash of the complete subtree of ``2**level`` leaves starting at leaf ``index << level``), so the same
code serves an in-memory list of leaf hashes (:class:`MemoryTree`, tests and audits) and the tiles in the object
store (:mod:`storage.tlog.tiles`), where one proof at ten million leaves reads O(log n) tiles.

Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from storage.tlog.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "MemoryTree",
    "SubtreeOracle",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "root_from_hashes",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``subtree(level, index)``: the hash of the complete subtree of ``2**level`` leaves starting at ``index << level``.
SubtreeOracle = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (or of any level's node hashes: the same recursion)."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    level = list(hashes)
    # Bottom-up, pairing left to right and carrying an odd last node up unchanged: equal to the RFC's recursion.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def range_hash(subtree: SubtreeOracle, lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) for a range that is a node of the RFC tree (``lo`` aligned to the largest power of two
    below ``hi - lo``), from complete subtrees: at most ~log2(hi - lo) oracle calls."""
    size = hi - lo
    if size <= 0:
        raise ProofError(f"empty range [{lo}, {hi})")
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        if lo % size:
            raise ProofError(f"range [{lo}, {hi}) is not a subtree")
        return subtree(level, lo >> level)
    k = _split(size)
    return node_hash(range_hash(subtree, lo, lo + k), range_hash(subtree, lo + k, hi))


def tree_hash(subtree: SubtreeOracle, size: int) -> bytes:
    """The root hash of the first ``size`` leaves."""
    return EMPTY_ROOT if size == 0 else range_hash(subtree, 0, size)


def inclusion_proof(subtree: SubtreeOracle, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) (RFC 6962 §2.1.1, RFC 9162 §2.1.3.1), leaf sibling first."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(range_hash(subtree, lo + k, hi))
            hi = lo + k
        else:
            path.append(range_hash(subtree, lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def consistency_proof(subtree: SubtreeOracle, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]) (RFC 6962 §2.1.2, RFC 9162 §2.1.4.1); empty when old is 0 or old == new."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from size {old} to {new}")
    if old == 0 or old == new:
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, new, old, True
    while True:
        if m == hi - lo:
            if not complete:
                proof.append(range_hash(subtree, lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            proof.append(range_hash(subtree, lo + k, hi))
            hi = lo + k
        else:
            proof.append(range_hash(subtree, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    proof.reverse()
    return proof


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2; raises :class:`ProofError` unless ``proof`` proves ``leaf`` (a leaf hash) at
    ``index`` in the tree of ``size`` leaves with ``root``."""
    if index >= size or index < 0:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        raise ProofError("a leaf or root hash is not 32 bytes")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if len(p) != HASH_SIZE:
            raise ProofError("a proof hash is not 32 bytes")
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    if r != root:
        raise ProofError("the inclusion proof does not lead to the root hash")


def verify_consistency(old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> None:
    """RFC 9162 §2.1.4.2 (with the trivial case of equal sizes); raises :class:`ProofError`. There is no proof
    from the empty tree (old size 0), which every tree extends: a caller that accepts it says so itself (as a
    tlog-witness does for ``old 0``)."""
    if old <= 0 or old > new:
        raise ProofError(f"no consistency proof from size {old} to {new}")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a proof hash is not 32 bytes")
    if old == new:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("the root hashes differ at the same size")
        return
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        raise ProofError("a root hash is not 32 bytes")
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:  # step 1: old is an exact power of 2
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:  # step 3
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != old_root:
        raise ProofError("the consistency proof does not lead to the old root hash")
    if sr != new_root:
        raise ProofError("the consistency proof does not lead to the new root hash")


class MemoryTree:
    """Leaf hashes in memory with a subtree oracle (tests, ``edoc log audit``): simple, O(2**level) per call."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.leaves: list[bytes] = list(leaf_hashes)

    def append(self, data: bytes) -> None:
        self.leaves.append(leaf_hash(data))

    def subtree(self, level: int, index: int) -> bytes:
        lo = index << level
        hi = lo + (1 << level)
        if hi > len(self.leaves):
            raise ProofError(f"subtree {level}/{index} is beyond the tree")
        return root_from_hashes(self.leaves[lo:hi])

    def root(self, size: int | None = None) -> bytes:
        return root_from_hashes(self.leaves[: len(self.leaves) if size is None else size])


class CompactRange:
    """The roots of the perfect subtrees covering leaves ``[0, size)`` (RFC 9162's right edge): appending is
    amortised O(1) and the root at the current size costs O(log n), with O(log n) memory (streamed audits)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []  # one hash per set bit of size, the biggest subtree first

    def append(self, leaf: bytes) -> None:
        node = leaf
        size = self.size
        while size & 1:
            node = node_hash(self._stack.pop(), node)
            size >>= 1
        self._stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node
