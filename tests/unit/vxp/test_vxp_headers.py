"""service/vxp/headers.py: sendEdoc's ``to`` and ``from`` in the field's shapes, and the bounds of their parsing."""

from __future__ import annotations

import json

import pytest

from service.vxp.errors import VxpRequestError
from service.vxp.headers import TO_MAX_CHARS, TO_MAX_CODES, from_code, to_codes

B, C = "000.00.12.H53", "000.00.00.G22"


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        (None, []),
        ("", []),
        ("  ", []),
        ('""', []),
        ("[]", []),
        (json.dumps("[]"), []),
        (json.dumps([B, C, B]), [B, C]),
        (json.dumps(json.dumps([B, C])), [B, C]),
        (json.dumps(B), [B]),
        (B, [B]),
        (f" {B} ", [B]),
        (json.dumps([f" {B}"]), [B]),
    ],
)
def test_shapes_accepted(value: str | None, codes: list[str]) -> None:
    assert to_codes(value) == codes


@pytest.mark.parametrize(
    "value",
    [
        '"',
        "[",
        "{}",
        "[1]",
        '[["x"]]',
        '[""]',
        json.dumps(json.dumps(json.dumps([B]))),  # three encodings
        json.dumps([B] * (TO_MAX_CODES + 1)),
        "x" * (TO_MAX_CHARS + 1),
        "[" * 100_000,
        '"' + "\\u005b" * 2_000 + '"',  # brackets hidden in an escaped string: caught at the second decoding
        json.dumps(["000.00.00.G2"]),
        f"{B},{C}",
    ],
)
def test_other_shapes_refused_without_deep_parsing(value: str) -> None:
    with pytest.raises(VxpRequestError) as refused:
        to_codes(value)
    assert refused.value.code == "VXP-400-BAD-TO"


def test_from_is_a_code_or_the_callers_system_id() -> None:
    assert from_code(f" {B} ", systemid="vxp.a") == B
    assert from_code("vxp.a", systemid="vxp.a") is None
    for value in ("vxp.b", "VXP.A", "", "x" * 10_000):
        with pytest.raises(VxpRequestError) as refused:
            from_code(value, systemid="vxp.a")
        assert refused.value.code == "VXP-400-BAD-FROM"
