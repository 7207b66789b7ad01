"""storage/tlog against public vectors: transparency-dev/merkle's inclusion and consistency probes, the RFC 6962
reference tree of 8 leaves, and the signed-note example of the C2SP text (tests/data/tlog/README.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from storage.tlog.errors import NoteError, ProofError
from storage.tlog.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from storage.tlog.note import (
    ALG_COSIGNATURE,
    Signer,
    TlogProof,
    Verifier,
    format_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "tlog"

LEAF_INPUTS = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                          "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]


def _load(kind: str) -> list[tuple[str, dict]]:
    return sorted(json.loads((DATA / f"merkle_{kind}.json").read_text()).items())


def _b(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def test_hashing_matches_rfc6962_test_values() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert node_hash(b"N123", b"N456").hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


def test_reference_tree_roots_at_every_size() -> None:
    tree = MemoryTree()
    assert tree.root() == ROOTS[0]
    for size, data in enumerate(LEAF_INPUTS, 1):
        tree.append(data)
        assert tree.root() == ROOTS[size]


def test_generated_proofs_verify_on_the_reference_tree() -> None:
    tree = MemoryTree()
    for data in LEAF_INPUTS:
        tree.append(data)
    for size in range(1, 9):
        for index in range(size):
            proof = inclusion_proof(tree.subtree, index, size)
            verify_inclusion(tree.leaves[index], index, size, proof, ROOTS[size])
        for old in range(1, size + 1):
            proof = consistency_proof(tree.subtree, old, size)
            verify_consistency(old, size, proof, ROOTS[old], ROOTS[size])


@pytest.mark.parametrize(("name", "probe"), _load("inclusion"), ids=lambda v: v if isinstance(v, str) else "")
def test_inclusion_vectors(name: str, probe: dict) -> None:
    proof = [_b(p) for p in probe["proof"] or []]
    def run() -> None:
        verify_inclusion(_b(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], proof, _b(probe["root"]))
    if probe["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


@pytest.mark.parametrize(("name", "probe"), _load("consistency"), ids=lambda v: v if isinstance(v, str) else "")
def test_consistency_vectors(name: str, probe: dict) -> None:
    proof = [_b(p) for p in probe["proof"] or []]
    def run() -> None:
        verify_consistency(probe["size1"], probe["size2"], proof, _b(probe["root1"]), _b(probe["root2"]))
    if probe["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


def test_vector_happy_paths_are_what_the_generator_produces() -> None:
    """The happy-path probes come from the 8-leaf reference tree: our generator must produce the same proofs."""
    tree = MemoryTree()
    for data in LEAF_INPUTS:
        tree.append(data)
    checked = 0
    for name, probe in _load("inclusion"):
        if name.endswith("happy-path.json") and probe["treeSize"] <= 8 and probe["leafHash"] == base64.b64encode(
                tree.leaves[probe["leafIdx"]]).decode():
            assert [_b(p) for p in probe["proof"] or []] == inclusion_proof(tree.subtree, probe["leafIdx"],
                                                                           probe["treeSize"])
            checked += 1
    for name, probe in _load("consistency"):
        if name.endswith("happy-path.json") and probe["size2"] <= 8 and _b(probe["root2"]) == ROOTS[probe["size2"]]:
            assert [_b(p) for p in probe["proof"] or []] == consistency_proof(tree.subtree, probe["size1"],
                                                                             probe["size2"])
            checked += 1
    assert checked >= 4


# The example of c2sp.org/signed-note (C2SP/C2SP signed-note.md, "Example").
NOTE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
NOTE = ("This is an example message.\n\n"
        "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72"
        "IneyaQM=\n").encode()


def test_signed_note_example_of_the_c2sp_text() -> None:
    verifier = Verifier.parse(NOTE_VKEY)
    assert verifier.vkey == NOTE_VKEY  # key ID = SHA-256(name || 0x0A || 0x01 || key)[:4], vkey encoding
    note, verified = open_note(NOTE, [verifier])
    assert note.text == b"This is an example message.\n"
    assert [v.name for v, _ in verified] == ["example.com/foo"]
    with pytest.raises(NoteError):
        open_note(NOTE.replace(b"example message", b"example massage"), [verifier])


def test_checkpoint_and_tlog_proof_examples_of_the_c2sp_texts() -> None:
    # tlog-checkpoint.md's example note text, and tlog-proof.md's example (signatures elided there as "[...]").
    cp = parse_checkpoint(b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert format_checkpoint(cp.origin, cp.size, cp.root) == cp.text()
    example = (
        "c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\nindex 73894\n"
        "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\nB95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
        "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\nRoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
        "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n\nexample.com/fancylog\n109482\n"
        "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n\u2014 example.com/fancylog hI2DJw[...]1roloI=\n"
    ).encode()
    proof = TlogProof.parse(example)
    assert proof.index == 73894 and len(proof.proof) == 5 and proof.checkpoint.startswith(b"example.com/fancylog\n")
    assert proof.encode() == example


def test_notes_signed_here_verify_and_name_their_key() -> None:
    signer = Signer.generate("edoc.example/log")
    note = sign_note(format_checkpoint(signer.name, 3, b"\x01" * 32), [signer])
    verifier = Verifier.parse(signer.verifier.vkey)
    opened, verified = open_note(note, [verifier])
    assert verified[0][0] == verifier and parse_checkpoint(opened.text).size == 3
    witness = Signer.generate("witness.example/w1", ALG_COSIGNATURE)
    cosigned = note + witness.signature_line(opened.text, timestamp=1679315147).encode()
    _, verified = open_note(cosigned, [verifier, witness.verifier])
    assert [(v.name, ts) for v, ts in verified] == [("edoc.example/log", None), ("witness.example/w1", 1679315147)]
    with pytest.raises(NoteError):  # a known key whose signature fails rejects the note
        open_note(note.replace(b"\n3\n", b"\n4\n"), [verifier])
    with pytest.raises(NoteError):  # only unknown keys
        open_note(note, [Signer.generate("edoc.example/log").verifier])
