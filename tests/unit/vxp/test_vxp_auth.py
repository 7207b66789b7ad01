"""VxpAuthenticator against calls signed by an independent §8 signer (vxp_testkit.sign)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from vxp_testkit import SECRETS, SENDER, SENDER_SECRET, Clock, sign, vn_timestamp

from service.vxp.auth import VxpAuthenticator, check_hash_file
from service.vxp.errors import VxpError, VxpHashMismatch, VxpHashMissing
from service.vxp.protocol import hash_file_hex, hash_file_sdk
from service.vxp.replay import InMemoryReplayGuard


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(clock: Clock) -> VxpAuthenticator:
    guard = InMemoryReplayGuard(clock=clock)
    return VxpAuthenticator(lookup_secret=SECRETS.get, clock=clock, replay_guard=guard)


def values(clock: Clock, **extra: str) -> dict[str, str]:
    return {"systemid": SENDER, "servicetype": "eDoc", "messagetype": "edoc",
            "timestamp": vn_timestamp(clock()), "Content-Type": "application/json", **extra}


def refused(code: str, call: Callable[[], object]) -> None:
    with pytest.raises(VxpError) as info:
        call()
    assert info.value.code == code, info.value.message


def test_a_good_call_is_accepted(auth: VxpAuthenticator, clock: Clock) -> None:
    call = auth.authenticate(sign(values(clock), SENDER_SECRET), required=("servicetype", "messagetype"))
    assert call.systemid == SENDER
    assert call.headers["messagetype"] == "edoc"
    assert call.headers["Content-Type"] == "application/json"
    assert call.timestamp == clock().replace(microsecond=0)


def test_non_ascii_values_travel_as_utf8_and_come_back_decoded(auth: VxpAuthenticator, clock: Clock) -> None:
    call = auth.authenticate(sign(values(clock, filePath="D:/Văn bản"), SENDER_SECRET))
    assert call.headers["filePath"] == "D:/Văn bản"


def test_wrong_secret(auth: VxpAuthenticator, clock: Clock) -> None:
    refused("VXP-401-BAD-SIGNATURE", lambda: auth.authenticate(sign(values(clock), "not-the-secret")))


def test_unknown_system(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock, systemid="vxp.nobody"), SENDER_SECRET)
    refused("VXP-401-BAD-SIGNATURE", lambda: auth.authenticate(headers))


@pytest.mark.parametrize("name", ["systemid", "timestamp", "sign-header-key", "sign-header", "hash-header"])
def test_each_authentication_header_is_required(auth: VxpAuthenticator, clock: Clock, name: str) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    del headers[f"XroadVnpt-{name}"]
    refused("VXP-401-MISSING-HEADER", lambda: auth.authenticate(headers))


@pytest.mark.parametrize("seconds", [-301, 301])
def test_stale_and_future_timestamps(auth: VxpAuthenticator, clock: Clock, seconds: int) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    clock.advance(seconds)
    refused("VXP-401-STALE-TIMESTAMP", lambda: auth.authenticate(headers))


@pytest.mark.parametrize("seconds", [-299, 299])
def test_timestamps_inside_the_window_pass(auth: VxpAuthenticator, clock: Clock, seconds: int) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    clock.advance(seconds)
    assert auth.authenticate(headers).systemid == SENDER


def test_unparseable_timestamp(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock, timestamp="2025-03-14T09:30:00Z"), SENDER_SECRET)
    refused("VXP-401-BAD-TIMESTAMP", lambda: auth.authenticate(headers))


def test_a_signed_header_that_is_not_sent(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    del headers["XroadVnpt-messagetype"]
    refused("VXP-401-MISSING-HEADER", lambda: auth.authenticate(headers))


def test_a_header_differing_from_its_signed_value(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    headers["XroadVnpt-messagetype"] = "status"
    refused("VXP-401-HEADER-MISMATCH", lambda: auth.authenticate(headers))


def test_plain_content_type_must_match_the_signed_one(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    headers["Content-Type"] = "multipart/form-data; boundary=x"
    refused("VXP-401-HEADER-MISMATCH", lambda: auth.authenticate(headers))
    headers["Content-Type"] = "application/json; charset=UTF-8"
    assert auth.authenticate(headers).systemid == SENDER


def test_a_header_sent_twice(auth: VxpAuthenticator, clock: Clock) -> None:
    pairs = [*sign(values(clock), SENDER_SECRET).items(), ("xroadvnpt-messagetype", "edoc")]
    refused("VXP-401-HEADER-MISMATCH", lambda: auth.authenticate(pairs))


def test_dropping_a_name_from_the_key_list_does_not_unsign_it(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    headers["XroadVnpt-sign-header-key"] = "systemid;servicetype;timestamp;Content-Type"
    headers["XroadVnpt-messagetype"] = "status"
    refused("VXP-401-SIGN-KEY-MISMATCH", lambda: auth.authenticate(headers))


def test_an_unsigned_parameter_is_refused(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock), SENDER_SECRET, extra={"XroadVnpt-docId": "smuggled"})
    refused("VXP-401-UNSIGNED-HEADER", lambda: auth.authenticate(headers))


def test_a_required_parameter_must_be_signed(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    refused("VXP-401-MISSING-HEADER", lambda: auth.authenticate(headers, required=("docId",)))


@pytest.mark.parametrize(
    "sign_header", ["not json", "[1,2]", '{"XroadVnpt-systemid":1}', '{"a":"1","a":"2"}', "\udcff"],
)
def test_malformed_sign_header(auth: VxpAuthenticator, clock: Clock, sign_header: str) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    headers["XroadVnpt-sign-header"] = sign_header.encode("utf-8", "surrogateescape").decode("latin-1")
    refused("VXP-401-MALFORMED-SIGN-HEADER", lambda: auth.authenticate(headers))


def test_malformed_key_list(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    headers["XroadVnpt-sign-header-key"] = "systemid;;timestamp"
    refused("VXP-401-MALFORMED-SIGN-HEADER", lambda: auth.authenticate(headers))


def test_a_replay_of_the_identical_call_is_refused(auth: VxpAuthenticator, clock: Clock) -> None:
    headers = sign(values(clock), SENDER_SECRET)
    auth.authenticate(headers)
    clock.advance(1)
    refused("VXP-401-REPLAY", lambda: auth.authenticate(headers))
    assert auth.authenticate(headers, check_replay=False).systemid == SENDER
    clock.advance(1)
    assert auth.authenticate(sign(values(clock), SENDER_SECRET)).systemid == SENDER


def test_the_replay_guard_forgets_expired_signatures() -> None:
    clock = Clock()
    guard = InMemoryReplayGuard(clock=clock)
    assert not guard.seen_before("a", "sig", clock.now.replace(second=10))
    assert guard.seen_before("a", "sig", clock.now.replace(second=10))
    assert not guard.seen_before("b", "sig", clock.now.replace(second=10))
    clock.advance(11)
    assert len(guard) == 0
    assert not guard.seen_before("a", "sig", clock.now.replace(second=59))


def test_the_body_is_checked_against_hash_file_when_given(auth: VxpAuthenticator, clock: Clock) -> None:
    body = b"<edXML/>"
    call = auth.authenticate(sign(values(clock, **{"hash-file": hash_file_sdk(body)}), SENDER_SECRET), body)
    assert call.payload == body
    clock.advance(1)
    headers = sign(values(clock, **{"hash-file": hash_file_sdk(body)}), SENDER_SECRET)
    refused("VXP-400-HASH-MISMATCH", lambda: auth.authenticate(headers, body + b"tampered"))


def test_check_hash_file_forms_and_the_sdk_trailing_crlf() -> None:
    body = "<edXML>Bộ Nội vụ</edXML>".encode()
    assert check_hash_file({"hash-file": hash_file_sdk(body)}, body) == body
    assert check_hash_file({"XroadVnpt-hash-file": hash_file_hex(body)}, body) == body
    assert check_hash_file({"hash-file": hash_file_sdk(body)}, body + b"\r\n") == body
    with pytest.raises(VxpHashMismatch):
        check_hash_file({"hash-file": hash_file_sdk(body)}, body + b"\r\n\r\n")
    with pytest.raises(VxpHashMissing):
        check_hash_file({}, body)
