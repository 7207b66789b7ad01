"""``edoc witness``'s add-checkpoint (C2SP tlog-witness): cosigns a consistent checkpoint, answers 409 with the
size it holds, refuses a fork (422), an unknown origin (404) and a bad signature (403); its cosignature verifies
with the independent verifier (tests/support/tlog_verifier.py)."""

from __future__ import annotations

import base64
from pathlib import Path

from service.exchange.witness import Witness
from storage.tlog.merkle import MemoryTree, consistency_proof
from storage.tlog.note import Signer, format_checkpoint, sign_note
from tests.support import tlog_verifier as iv


def _request(old: int, proof: list[bytes], note: bytes) -> bytes:
    return f"old {old}\n".encode() + b"".join(base64.b64encode(h) + b"\n" for h in proof) + b"\n" + note


def test_add_checkpoint(tmp_path: Path) -> None:
    log = Signer.generate("example.org/log")
    witness = Witness.open(name="witness.example/w1", key_file=tmp_path / "w.pem", state_file=tmp_path / "state.json",
                           log_keys=[log.verifier.vkey])
    tree = MemoryTree()
    for i in range(10):
        tree.append(b"entry %d" % i)

    def note(size: int, root: bytes | None = None) -> bytes:
        return sign_note(format_checkpoint(log.name, size, root or tree.root(size)), [log])

    status, body, _ = witness.add_checkpoint(_request(0, [], note(4)))
    assert status == 200
    _origin, size, _root, cosigned = iv.check_checkpoint(note(4) + body, log.verifier.vkey, (witness.verifier.vkey,))
    assert (size, cosigned) == (4, 1)

    status, body, media = witness.add_checkpoint(_request(0, [], note(7)))
    assert (status, body, media) == (409, b"4\n", "text/x.tlog.size")
    status, _, _ = witness.add_checkpoint(_request(4, consistency_proof(tree.subtree, 4, 7), note(7)))
    assert status == 200

    fork = MemoryTree(tree.leaves[:5])
    fork.append(b"rewritten history")
    for i in range(6, 9):
        fork.append(b"entry %d" % i)
    forged = sign_note(format_checkpoint(log.name, 9, fork.root()), [log])
    status, _, _ = witness.add_checkpoint(_request(7, consistency_proof(fork.subtree, 7, 9), forged))
    assert status == 422  # the log signed a fork: no cosignature
    assert witness.add_checkpoint(_request(10, [], note(9)))[0] == 400
    other = Signer.generate("example.org/other")
    assert witness.add_checkpoint(_request(0, [], sign_note(b"example.org/other\n1\n" + base64.b64encode(
        tree.root(1)) + b"\n", [other])))[0] == 404
    impostor = Signer.generate("example.org/log")
    assert witness.add_checkpoint(_request(7, [], sign_note(format_checkpoint(log.name, 9, tree.root(9)),
                                                            [impostor])))[0] == 403
    # After a restart it still holds size 7.
    again = Witness.open(name="witness.example/w1", key_file=tmp_path / "w.pem", state_file=tmp_path / "state.json",
                         log_keys=[log.verifier.vkey])
    assert again.add_checkpoint(_request(4, [], note(9)))[:2] == (409, b"7\n")
