"""STANDARDS §8 wire details: timestamp, Gson JSON, HashMap order, HMAC, hash-file, envelope, operations."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.vxp.protocol import (
    OPERATIONS,
    VN_TZ,
    fail_envelope,
    format_timestamp,
    gson_array,
    gson_object,
    hash_file_hex,
    hash_file_matches,
    hash_file_sdk,
    java_hashmap_order,
    ok_envelope,
    parse_timestamp,
    sign_header_hmac,
)


def test_milliseconds_are_padded_to_four_digits_like_simpledateformat() -> None:
    moment = datetime(2025, 3, 14, 2, 30, 5, 7000, tzinfo=UTC)
    assert format_timestamp(moment) == "14032025T093005+0007"
    assert parse_timestamp("14032025T093005+0007") == moment


@pytest.mark.parametrize("text", ["14032025T093005+123", "14032025T093005+0123"])
def test_three_or_four_millisecond_digits_mean_milliseconds(text: str) -> None:
    assert parse_timestamp(text) == datetime(2025, 3, 14, 9, 30, 5, 123000, tzinfo=VN_TZ)


@pytest.mark.parametrize("micros", [0, 1000, 7000, 123000, 999000])
def test_round_trip_in_any_zone(micros: int) -> None:
    moment = datetime(2024, 12, 31, 23, 59, 59, micros, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_timestamp(format_timestamp(moment)) == moment
    assert parse_timestamp(format_timestamp(moment, UTC), UTC) == moment


@pytest.mark.parametrize(
    "text", ["14032025T093005+12", "14032025T093005+12345", "14032025T093005+1000", "14032025T093005",
             "2025-03-14T09:30:05", "32012025T093005+0000", " 14032025T093005+0007"],
)
def test_malformed_timestamps_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_naive_datetimes_are_not_formatted() -> None:
    with pytest.raises(ValueError):
        format_timestamp(datetime(2025, 1, 1))


def test_hashmap_order_is_the_one_section_8_observed_on_the_wire() -> None:
    inserted = ["timestamp", "systemid", "Content-Type", "servicetype", "messagetype"]
    assert ";".join(java_hashmap_order(inserted)) == "systemid;servicetype;messagetype;timestamp;Content-Type"


def test_hashmap_order_grows_the_table_past_twelve_entries() -> None:
    names = [f"h{i}" for i in range(20)]
    assert sorted(java_hashmap_order(names)) == sorted(names)
    assert java_hashmap_order(names) != java_hashmap_order(names[:12]) + names[12:]


def test_gson_json_is_compact_keeps_non_ascii_and_parses_back() -> None:
    text = gson_object([("XroadVnpt-from", "000.00.00.G22"), ("XroadVnpt-name", 'Bộ "Nội" vụ\n\x01\u2028')])
    assert text == '{"XroadVnpt-from":"000.00.00.G22","XroadVnpt-name":"Bộ \\"Nội\\" vụ\\n\\u0001\\u2028"}'
    assert json.loads(text)["XroadVnpt-name"] == 'Bộ "Nội" vụ\n\x01\u2028'
    assert gson_array(["000.00.00.G22", "000.00.01.H53"]) == '["000.00.00.G22","000.00.01.H53"]'
    assert gson_array([]) == "[]"


def test_hmac_known_answer_over_the_exact_header_string() -> None:
    sign_header = '{"XroadVnpt-systemid":"vxp.saas.02","XroadVnpt-timestamp":"14032025T093005+0007"}'
    secret = "bí-mật"
    expected = hmac.new("bí-mật".encode(), sign_header.encode(), hashlib.sha256).hexdigest()
    assert sign_header_hmac(sign_header, secret) == expected
    assert sign_header_hmac(sign_header.encode(), secret) == expected
    assert sign_header_hmac(sign_header.replace(":", ": "), secret) != expected


def _body_whose_hash_has_small_bytes() -> bytes:
    for i in range(1000):
        body = b"<edXML>%d</edXML>" % i
        if any(b < 0x10 for b in hashlib.sha256(body).digest()):
            return body
    raise AssertionError("no body found")


def test_sdk_hash_file_drops_each_leading_zero() -> None:
    body = _body_whose_hash_has_small_bytes()
    digest = hashlib.sha256(body).digest()
    assert hash_file_sdk(body) == "".join(hex(b)[2:] for b in digest)
    assert len(hash_file_sdk(body)) < 64
    assert hash_file_hex(body) == digest.hex()


def test_both_hash_file_forms_are_accepted_and_a_wrong_one_refused() -> None:
    body = _body_whose_hash_has_small_bytes()
    assert hash_file_matches(body, hash_file_sdk(body))
    assert hash_file_matches(body, hash_file_hex(body))
    assert hash_file_matches(body, hash_file_hex(body).upper())
    assert not hash_file_matches(body + b" ", hash_file_sdk(body))
    assert not hash_file_matches(body, hash_file_hex(body)[:-1] + "x")
    assert not hash_file_matches(body, "")


def test_envelopes() -> None:
    ok = ok_envelope(DocId="42")
    assert ok == {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Success", "DocId": "42"}
    fail = fail_envelope("VXP-401-BAD-SIGNATURE", "bad", "sendEdoc")
    assert fail == {"status": "FAIL", "ErrorCode": "VXP-401-BAD-SIGNATURE", "ErrorDesc": "bad", "DocId": ""}


def test_the_operation_table_names_all_ten_operations() -> None:
    assert set(OPERATIONS) == {
        "sendEdoc", "getReceivedEdocList", "getEdoc", "updateStatus", "getSentEdocList", "getAgenciesList",
        "registerAgency", "deleteAgency", "countReceiveEdoc", "countReceiveStatus",
    }
    assert OPERATIONS["sendEdoc"].content_type == "application/octet-stream"
    assert OPERATIONS["countReceiveEdoc"].accepted_methods == {"GET", "POST"}
    assert all(set(op.required) <= set(op.params) for op in OPERATIONS.values())


@given(st.text(alphabet=st.sampled_from(['"', "\\", "\n", "\x01", "\x1f", "\u2028", "\u2029", "a", "ộ", " ", "/"])))
def test_gson_strings_are_the_same_with_or_without_the_plain_text_shortcut(value: str) -> None:
    """Values without anything to escape skip the per-character path; both give Gson's text, which JSON reads
    back as the value."""
    slow = '"' + "".join(
        {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\b": "\\b", "\n": "\\n", "\r": "\\r", "\f": "\\f",
         "\u2028": "\\u2028", "\u2029": "\\u2029"}.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c)
        for c in value
    ) + '"'
    assert gson_array([value]) == f"[{slow}]"
    assert json.loads(gson_array([value])) == [value]
