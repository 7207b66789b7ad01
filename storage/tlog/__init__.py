"""A transparency log of the exchange (issue 21): RFC 9162 Merkle trees (:mod:`.merkle`), C2SP tlog-tiles
(:mod:`.tiles`), signed notes, checkpoints, cosignatures and tlog-proofs (:mod:`.note`), the canonical leaf of an
event (:mod:`.leaf`) and the log's rows (:mod:`.store`). Framework-free; written from the RFC and the C2SP texts
and tested against the transparency-dev/merkle vectors (tests/data/tlog/README.md)."""
