"""VxpClient against a tiny real ASGI VXP server that authenticates with VxpAuthenticator (each proves the other)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from vxp_testkit import (
    RECEIVER,
    RECEIVER_SECRET,
    SENDER,
    SENDER_SECRET,
    Clock,
    SyncASGITransport,
    TinyVxpServer,
)

from service.vxp.client import VxpClient
from service.vxp.errors import VxpRemoteError, VxpResponseError, VxpTransportError
from service.vxp.protocol import hash_file_sdk

PACKAGE = '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><Subject>Công văn số 7816</Subject></edXML>'


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> TinyVxpServer:
    return TinyVxpServer(clock)


@pytest.fixture
def http(server: TinyVxpServer) -> Iterator[httpx.Client]:
    with httpx.Client(transport=SyncASGITransport(server)) as client:
        yield client


def client_for(http: httpx.Client, clock: Clock, systemid: str, secret: str) -> VxpClient:
    return VxpClient("http://node.test/vxp/", systemid, secret, http=http, clock=clock)


@pytest.fixture
def sender(http: httpx.Client, clock: Clock) -> VxpClient:
    return client_for(http, clock, SENDER, SENDER_SECRET)


@pytest.fixture
def receiver(http: httpx.Client, clock: Clock) -> VxpClient:
    return client_for(http, clock, RECEIVER, RECEIVER_SECRET)


def test_the_exchange_flow_of_section_8(sender: VxpClient, receiver: VxpClient, server: TinyVxpServer) -> None:
    package = PACKAGE.encode()
    doc_id = sender.send_edoc(package, from_code="000.00.00.G22", to_codes=["000.00.01.H53"])
    assert server.packages[doc_id] == package
    assert receiver.count_receive_edoc() == 1
    [item] = receiver.get_received_edoc_list("edoc")
    assert (item.doc_id, item.from_code, item.to, item.status_desc) == (
        doc_id, "000.00.00.G22", '["000.00.01.H53"]', "Chờ nhận")
    assert receiver.get_edoc(doc_id) == package
    receiver.update_status(doc_id, "done")
    assert receiver.get_received_edoc_list("edoc") == []
    [row] = sender.get_sent_edoc_list(doc_id)
    assert (row.sender_doc_id, row.to_code, row.receive_status) == (doc_id, "000.00.01.H53", "done")
    assert receiver.count_receive_status() == 0


def test_send_edoc_signs_hash_file_and_the_server_checks_it(sender: VxpClient, server: TinyVxpServer) -> None:
    package = PACKAGE.encode()
    sender.send_edoc(package, from_code="000.00.00.G22", messagetype="status")
    sent = server.seen_headers[-1]
    assert sent["xroadvnpt-hash-file"] == hash_file_sdk(package)
    assert "hash-file" in sent["xroadvnpt-sign-header-key"].split(";")
    assert sent["content-type"] == "application/octet-stream"
    params = {"from": "000.00.00.G22", "to": "[]", "servicetype": "eDoc", "messagetype": "edoc",
              "hash-file": hash_file_sdk(package)}
    with pytest.raises(VxpRemoteError) as info:
        sender.call("sendEdoc", params, body=package + b"<!-- altered -->")
    assert info.value.code == "VXP-400-HASH-MISMATCH"


def test_headers_are_the_sdk_ones(sender: VxpClient, server: TinyVxpServer) -> None:
    sender.get_received_edoc_list("status")
    sent = server.seen_headers[-1]
    assert sent["xroadvnpt-sign-header-key"] == "systemid;servicetype;messagetype;timestamp;Content-Type"
    assert sent["xroadvnpt-sign-header"] == (
        '{"XroadVnpt-systemid":"vxp.saas.02","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"status",'
        '"XroadVnpt-timestamp":"14032025T093000+0000","XroadVnpt-Content-Type":"application/json"}')
    assert sent["user-agent"] == "JAVASDKAgent/1.0.0 XRoad/VPCP"
    assert sent["xroadvnpt-version"] == "3.0.201608"


def test_a_wrong_secret_is_refused_by_the_server(http: httpx.Client, clock: Clock) -> None:
    with pytest.raises(VxpRemoteError) as info:
        client_for(http, clock, SENDER, "guessed").count_receive_edoc()
    assert info.value.code == "VXP-401-BAD-SIGNATURE"


def test_a_client_with_a_slow_clock_is_refused_as_stale(http: httpx.Client, clock: Clock) -> None:
    late = Clock(clock.now.replace(hour=clock.now.hour - 1))
    with pytest.raises(VxpRemoteError) as info:
        client_for(http, late, SENDER, SENDER_SECRET).count_receive_edoc()
    assert info.value.code == "VXP-401-STALE-TIMESTAMP"


def test_identical_calls_in_the_same_millisecond_are_not_replays(sender: VxpClient, server: TinyVxpServer) -> None:
    assert [sender.count_receive_edoc() for _ in range(3)] == [0, 0, 0]
    stamps = [h["xroadvnpt-timestamp"] for h in server.seen_headers]
    assert len(set(stamps)) == 3


def test_calls_a_fraction_of_a_millisecond_apart_are_not_replays(
    http: httpx.Client, clock: Clock, server: TinyVxpServer
) -> None:
    client = client_for(http, clock, SENDER, SENDER_SECRET)
    clock.advance(0.0004)  # off the millisecond, so the next steps stay inside one wire millisecond
    counts = []
    for _ in range(3):
        counts.append(client.count_receive_edoc())
        clock.advance(0.0003)
    assert counts == [0, 0, 0]
    stamps = [h["xroadvnpt-timestamp"] for h in server.seen_headers]
    assert len(set(stamps)) == 3


def test_agencies(sender: VxpClient) -> None:
    sender.register_agency(code="000.00.01.H53", name="UBND tỉnh Tây Ninh", pcode="000.00.00.H53", id="7")
    [agency] = sender.get_agencies_list()
    assert (agency.id, agency.code, agency.name, agency.mail) == ("7", "000.00.01.H53", "UBND tỉnh Tây Ninh", "")
    sender.delete_agency("000.00.01.H53")
    assert sender.get_agencies_list() == []


def test_a_fail_envelope_becomes_a_remote_error(receiver: VxpClient) -> None:
    with pytest.raises(VxpRemoteError) as info:
        receiver.get_edoc("doc-404")
    assert (info.value.code, info.value.desc) == ("VXP-404-NO-DOCUMENT", "no such document")
    assert not info.value.retryable


def test_unknown_update_status_values_are_not_sent(receiver: VxpClient) -> None:
    with pytest.raises(ValueError):
        receiver.update_status("doc-1", "read")


def _client_over(handler: httpx.MockTransport) -> VxpClient:
    """Only the network is simulated here: the component under test is the client's error handling."""
    return VxpClient("http://node.test/vxp", SENDER, SENDER_SECRET, http=httpx.Client(transport=handler))


def test_no_answer_is_a_retryable_transport_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(VxpTransportError) as info:
        _client_over(httpx.MockTransport(refuse)).count_receive_edoc()
    assert info.value.retryable


@pytest.mark.parametrize(("status", "error"), [(502, VxpTransportError), (404, VxpResponseError)])
def test_an_answer_without_envelope(status: int, error: type[Exception]) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, text="<html>Bad Gateway</html>"))
    with pytest.raises(error):
        _client_over(transport).count_receive_edoc()


def test_an_ok_envelope_missing_its_fields_is_a_response_error() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=json.dumps({"status": "OK", "ErrorCode": "0"}).encode()))
    client = _client_over(transport)
    with pytest.raises(VxpResponseError):
        client.count_receive_edoc()
    with pytest.raises(VxpResponseError):
        client.send_edoc(b"<edXML/>", from_code="000.00.00.G22")
