"""Agency identifiers (STANDARDS §4): shape, level, parent chain, patterns."""

from __future__ import annotations

import pytest

from schemas.agency import AgencyCode, InvalidAgencyCode, is_agency_code
from schemas.errors import SchemaError


@pytest.mark.parametrize("text", ["000.00.00.G22", "000.00.18.G12", "000.00.01.A53", "002.00.20.H13", "999.99.99.Z99"])
def test_valid_codes_parse_and_stay_strings(text: str) -> None:
    code = AgencyCode.parse(text)
    assert code == text and isinstance(code, str)
    assert is_agency_code(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("28.22.H17", "expected 13 characters NNN.NN.NN.LNN, got 9"),  # the kit's malformed sample
        ("01.02.G22", "expected 13 characters"),
        ("000.00.00.g22", "uppercase letter A–Z"),
        ("000.00.00.122", "uppercase letter A–Z"),
        ("000.00.00.GG2", "uppercase letter A–Z"),
        ("0a0.00.00.G22", "3 digits (level 4)"),
        ("000-00-00-G22", "4 groups"),
        ("000.000.0.G22", "2 digits (level 3)"),
        ("", "expected 13 characters"),
        ("000.00.00.G2٣", "uppercase letter"),  # a non-ASCII digit is not a digit here
    ],
)
def test_invalid_codes_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InvalidAgencyCode) as caught:
        AgencyCode.parse(text)
    assert caught.value.code == "invalid_agency_code"
    assert isinstance(caught.value, SchemaError)
    assert f"{text!r} is not an agency code" in str(caught.value)
    assert reason in str(caught.value)
    assert not is_agency_code(text)


def test_parse_ignores_surrounding_whitespace_but_constructor_does_not() -> None:
    assert AgencyCode.parse(" 000.00.00.G22\n") == "000.00.00.G22"
    with pytest.raises(InvalidAgencyCode):
        AgencyCode(" 000.00.00.G22")
    assert not is_agency_code(" 000.00.00.G22")
    assert not is_agency_code(None)


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidAgencyCode):
        AgencyCode.parse(22)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "level", "parent"),
    [
        ("000.00.00.G22", 1, None),
        ("000.00.18.G12", 2, "000.00.00.G12"),
        ("000.05.18.G12", 3, "000.00.18.G12"),
        ("007.05.18.G12", 4, "000.05.18.G12"),
        ("002.00.20.H13", 4, "000.00.20.H13"),  # a gap at level 3: the left-most non-zero group goes first
    ],
)
def test_level_and_parent(text: str, level: int, parent: str | None) -> None:
    code = AgencyCode(text)
    assert code.level == level
    assert code.parent == parent
    assert code.parent is None or isinstance(code.parent, AgencyCode)


def test_parent_chain_and_descendants() -> None:
    leaf = AgencyCode("007.05.18.G12")
    assert leaf.ancestors() == ("000.05.18.G12", "000.00.18.G12", "000.00.00.G12")
    assert AgencyCode("000.00.18.G12").is_descendant_of("000.00.00.G12")
    assert leaf.is_descendant_of(AgencyCode("000.00.18.G12"))
    assert not AgencyCode("000.00.00.G12").is_descendant_of("000.00.18.G12")
    assert not leaf.is_descendant_of(leaf)
    assert not AgencyCode("000.00.18.G12").is_descendant_of("000.00.00.G22")


@pytest.mark.parametrize(
    ("code", "pattern", "expected"),
    [
        ("000.00.01.A53", "*.A53", True),
        ("000.00.00.H53", "*.H53", True),
        ("000.00.00.H41", "*.H53", False),
        ("000.00.00.G22", "000.00.00.G22", True),
        ("000.00.01.G22", "000.00.00.G22", False),
        ("000.00.00.G22", "*", True),
        ("000.00.18.G12", "000.00.??.G12", True),
        ("000.00.00.G22", "*.g22", False),
    ],
)
def test_matches_is_a_case_sensitive_glob(code: str, pattern: str, expected: bool) -> None:
    assert AgencyCode(code).matches(pattern) is expected
