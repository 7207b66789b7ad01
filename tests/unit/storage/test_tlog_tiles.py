"""C2SP tlog-tiles: paths, widths, entry bundles, and proofs computed from tiles equal to those of the whole tree."""

from __future__ import annotations

import random

import pytest

from storage.tlog.errors import TileNotFound, TlogError
from storage.tlog.merkle import MemoryTree, consistency_proof, inclusion_proof, leaf_hash, tree_hash
from storage.tlog.tiles import (
    TileOracle,
    encode_bundle,
    entries_path,
    extend,
    parse_bundle,
    parse_tile_path,
    tile_path,
    tile_width,
)


def test_paths_as_the_text_writes_them() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(1, 5, 17) == "tile/1/005.p/17"
    assert entries_path(1234067) == "tile/entries/x001/x234/067"
    assert entries_path(0, 1) == "tile/entries/000.p/1"
    assert parse_tile_path("tile/0/x001/x234/067") == (0, 1234067, 256)
    assert parse_tile_path("tile/entries/x001/x234/067.p/3") == (None, 1234067, 3)
    for bad in ("tile/0/1234", "tile/0/001/234", "tile/00/001", "tile/0/001.p/0", "tile/0/001.p/256",
                "tile/64/000", "tile/0/x000/001", "tiles/0/000"):
        with pytest.raises(TlogError):
            parse_tile_path(bad)


def test_tree_of_70000_has_the_tiles_the_text_lists() -> None:
    # "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one partial level 1
    # tile of width 17, and one partial level 2 tile of width 1"
    size = 70_000
    assert [tile_width(size, 0, n) for n in (0, 272, 273, 274)] == [256, 256, 112, 0]
    assert [tile_width(size, 1, n) for n in (0, 1, 2)] == [256, 17, 0]
    assert [tile_width(size, 2, n) for n in (0, 1)] == [1, 0]
    assert tile_width(256, 1, 0) == 1


def test_bundle_round_trip() -> None:
    entries = [b"", b"a", b"x" * 300]
    data = encode_bundle(entries)
    assert data[:2] == b"\x00\x00" and data[2:4] == b"\x00\x01"
    assert parse_bundle(data) == entries
    with pytest.raises(TlogError):
        parse_bundle(data[:-1])


def _grow(sizes: list[int]) -> tuple[dict[str, bytes], MemoryTree]:
    stored: dict[str, bytes] = {}
    tree = MemoryTree()

    def read(path: str) -> bytes:
        if path not in stored:
            raise TileNotFound(path)
        return stored[path]

    for step in sizes:
        entries = [f"entry {len(tree.leaves) + i}".encode() for i in range(step)]
        hashes = [leaf_hash(e) for e in entries]
        for w in extend(read, len(tree.leaves), hashes, entries):
            stored[w.path] = w.data
        tree.leaves += hashes
    return stored, tree


def test_tiles_serve_the_same_roots_and_proofs_as_the_tree() -> None:
    stored, tree = _grow([1, 2, 300, 255, 1, 66_000, 7])
    n = len(tree.leaves)
    oracle = TileOracle(stored.__getitem__, n)
    rng = random.Random(7)
    for size in [1, 2, 3, 256, 257, 511, 512, 65_536, 65_537, n - 1, n] + [rng.randrange(1, n) for _ in range(10)]:
        assert tree_hash(oracle.subtree, size) == tree.root(size)
        index = rng.randrange(size)
        assert inclusion_proof(oracle.subtree, index, size) == inclusion_proof(tree.subtree, index, size)
        old = rng.randrange(1, size + 1)
        assert consistency_proof(oracle.subtree, old, size) == consistency_proof(tree.subtree, old, size)
    # The entry bundles hold the entries, in order.
    assert parse_bundle(stored["tile/entries/000"])[5] == b"entry 5"
    assert stored["tile/2/000.p/1"]  # a tree of more than 65,536 leaves has a level-2 tile


def test_a_proof_reads_few_tiles() -> None:
    stored, _tree = _grow([70_000])
    oracle = TileOracle(stored.__getitem__, 70_000)
    inclusion_proof(oracle.subtree, 12_345, 70_000)
    assert oracle.reads <= 6
