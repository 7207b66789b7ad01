"""C2SP tlog-tiles: tile paths, entry bundles, the tiles a tree of a given size consists of, and a subtree-hash
oracle that reads only the tiles a proof needs.

A tile at level ``L`` holds up to 256 hashes of the tree's level ``8*L`` (level 0: leaf hashes); the tile at level
``L+1`` holds the roots of the *full* tiles of level ``L``. Paths are ``tile/<L>/<N>[.p/<W>]`` with ``N`` written
as 3-digit path elements, all but the last prefixed by ``x`` (``1234067`` → ``x001/x234/067``); entry bundles are
``tile/entries/<N>[.p/<W>]``, each entry a big-endian uint16 length and the entry bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from storage.tlog.errors import TileNotFound, TlogError
from storage.tlog.merkle import HASH_SIZE, SubtreeOracle, root_from_hashes

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileOracle",
    "TileReadMany",
    "TileWrite",
    "encode_bundle",
    "entries_path",
    "extend",
    "parse_bundle",
    "parse_tile_path",
    "tile_path",
    "tile_width",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256
MAX_ENTRY = 0xFFFF

#: ``read(path) -> bytes``: a stored tile or entry bundle, raising :class:`TileNotFound` when there is none.
TileRead = Callable[[str], bytes]
#: ``read_many(paths) -> {path: bytes}``: several at once (one database round trip); missing ones are left out.
TileReadMany = Callable[[list[str]], dict[str, bytes]]


def _index_path(n: int) -> str:
    if n < 0:
        raise TlogError(f"negative tile index {n}")
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` (``width`` 256: a full tile)."""
    if not 0 <= level <= 63 or not 1 <= width <= TILE_WIDTH:
        raise TlogError(f"no tile at level {level} of width {width}")
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{_index_path(index)}{suffix}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    if not 1 <= width <= TILE_WIDTH:
        raise TlogError(f"no entry bundle of width {width}")
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/entries/{_index_path(index)}{suffix}"


def parse_tile_path(path: str) -> tuple[int | None, int, int]:
    """``(level, index, width)`` of a tile path, level ``None`` for an entry bundle; :class:`TlogError` if the
    path is not one tlog-tiles defines (leading zeroes, missing ``x`` prefixes, a width out of 1..255)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise TlogError(f"not a tile path: {path}")
    level: int | None
    if parts[1] == "entries":
        level = None
    elif parts[1].isdigit() and (parts[1] == "0" or not parts[1].startswith("0")) and int(parts[1]) <= 63:
        level = int(parts[1])
    else:
        raise TlogError(f"not a tile level: {path}")
    rest = parts[2:]
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        w = rest[-1]
        if not w.isdigit() or w.startswith("0") or not 1 <= int(w) < TILE_WIDTH:
            raise TlogError(f"not a partial tile width: {path}")
        width = int(w)
        rest = [*rest[:-2], rest[-2][:-2]]
    index = 0
    for i, element in enumerate(rest):
        last = i == len(rest) - 1
        digits = element if last else element[1:]
        if (not last and not element.startswith("x")) or len(digits) != 3 or not digits.isdigit():
            raise TlogError(f"not a tile index: {path}")
        index = index * 1000 + int(digits)
    if len(rest) > 1 and rest[0] == "x000":
        raise TlogError(f"not a tile index: {path}")
    return level, index, width


def tile_width(size: int, level: int, index: int) -> int:
    """How many hashes tile ``index`` at ``level`` holds in a tree of ``size`` leaves (0: none)."""
    count = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise TlogError(f"a log entry of {len(entry)} bytes is longer than {MAX_ENTRY}")
        out += struct.pack(">H", len(entry)) + entry
    return bytes(out)


def parse_bundle(data: bytes) -> list[bytes]:
    entries, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TlogError("truncated entry bundle")
        (length,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + length > len(data):
            raise TlogError("truncated entry bundle")
        entries.append(data[pos:pos + length])
        pos += length
    return entries


def _hashes(data: bytes) -> list[bytes]:
    if len(data) % HASH_SIZE:
        raise TlogError("a tile is not a whole number of hashes")
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


class TileOracle:
    """The :data:`~storage.tlog.merkle.SubtreeOracle` of a tree stored as tiles, at its latest size ``size``
    (every complete subtree of any smaller tree is complete in the latest one, so one set of tiles serves proofs
    for any earlier size). Tiles read are kept for the life of the object (one request)."""

    def __init__(self, read: TileRead, size: int, read_many: TileReadMany | None = None) -> None:
        self.read = read
        self.read_many = read_many
        self.size = size
        self.reads = 0
        self._cache: dict[tuple[int, int], list[bytes]] = {}

    def plan(self, compute: Callable[[SubtreeOracle], object]) -> None:
        """Learn which tiles ``compute`` will read by running it once on placeholder hashes (which subtrees a proof
        needs depends only on the sizes and indexes), then fetch them with one ``read_many``."""
        if self.read_many is None:
            return
        wanted: set[tuple[int, int]] = set()

        def placeholder(level: int, index: int) -> bytes:
            tile_level, rest = divmod(level, TILE_HEIGHT)
            wanted.add((tile_level, (index << rest) // TILE_WIDTH))
            return bytes(HASH_SIZE)

        compute(placeholder)
        paths = {}
        for key in wanted - self._cache.keys():
            width = tile_width(self.size, *key)
            if width:
                paths[key] = (tile_path(key[0], key[1], width), width)
        found = self.read_many([path for path, _ in paths.values()])
        for key, (path, width) in paths.items():
            if path in found:
                hashes = _hashes(found[path])
                if len(hashes) == width:
                    self._cache[key] = hashes
                    self.reads += 1

    def tile(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        if key not in self._cache:
            width = tile_width(self.size, level, index)
            if width == 0:
                raise TileNotFound(f"tile {level}/{index} is beyond the tree of size {self.size}")
            data = self.read(tile_path(level, index, width))
            self.reads += 1
            hashes = _hashes(data)
            if len(hashes) != width:
                raise TlogError(f"tile {level}/{index} holds {len(hashes)} hashes, not {width}")
            self._cache[key] = hashes
        return self._cache[key]

    def subtree(self, level: int, index: int) -> bytes:
        tile_level, rest = divmod(level, TILE_HEIGHT)
        start = index << rest  # first hash at level 8*tile_level
        hashes = self.tile(tile_level, start // TILE_WIDTH)
        offset = start % TILE_WIDTH
        span = hashes[offset:offset + (1 << rest)]
        if len(span) != 1 << rest:
            raise TileNotFound(f"subtree {level}/{index} is not complete in the tree of size {self.size}")
        return span[0] if rest == 0 else root_from_hashes(span)

    def as_oracle(self) -> SubtreeOracle:
        return self.subtree


@dataclass(frozen=True, slots=True)
class TileWrite:
    """One tile (or entry bundle) to store at ``path``."""

    path: str
    data: bytes


def extend(read: TileRead, old_size: int, leaf_hashes: Sequence[bytes], entries: Sequence[bytes] | None = None
           ) -> list[TileWrite]:
    """The tiles (and entry bundles, when ``entries`` are given) to write so that a tree of ``old_size`` leaves,
    already stored, becomes one of ``old_size + len(leaf_hashes)``: every tile whose content changed, full ones at
    their full path, the rightmost partial ones at their ``.p/<W>`` path. Reads only the old rightmost partial tile
    of each level (and the partial entry bundle)."""
    writes: list[TileWrite] = []
    new_size = old_size + len(leaf_hashes)
    if entries is not None:
        writes += _extend_level(read, None, old_size, new_size, list(entries))
    level, added = 0, list(leaf_hashes)
    while added:
        tile_writes = _extend_level(read, level, old_size >> (TILE_HEIGHT * level), new_size >> (TILE_HEIGHT * level),
                                    added)
        writes += tile_writes
        # The roots of the tiles of this level that became full feed the level above.
        added = [root_from_hashes(_hashes(w.data)) for w in tile_writes if len(w.data) == TILE_WIDTH * HASH_SIZE]
        level += 1
    return writes


def _extend_level(read: TileRead, level: int | None, old_count: int, new_count: int, added: list[bytes]
                  ) -> list[TileWrite]:
    """Append ``added`` items (hashes, or entries when ``level`` is None) to a level of ``old_count`` items."""
    assert new_count - old_count == len(added)
    path = entries_path if level is None else (lambda i, w=TILE_WIDTH: tile_path(level, i, w))
    first = old_count // TILE_WIDTH
    carried: list[bytes] = []
    if old_count % TILE_WIDTH:
        data = read(path(first, old_count % TILE_WIDTH))
        carried = parse_bundle(data) if level is None else _hashes(data)
    items = carried + added
    writes = []
    for offset in range(0, len(items), TILE_WIDTH):
        chunk = items[offset:offset + TILE_WIDTH]
        data = encode_bundle(chunk) if level is None else b"".join(chunk)
        writes.append(TileWrite(path(first + offset // TILE_WIDTH, len(chunk)), data))
    return writes
