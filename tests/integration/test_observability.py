"""Observability over real HTTP (issue 22 item 4): /metrics parsed with prometheus-client's own parser, JSON log
lines of a real ``edoc serve`` process, and W3C trace context from a request to a peer standing in for the uplink.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.observability import context
from service.observability.context import parse_traceparent
from service.vxp.client import VxpClient
from service.vxp.errors import VxpRemoteError, VxpResponseError, VxpTransportError
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, Env, gateway_env, provision
from tests.support.server import GatewayProcess, free_port

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def obs_env(empty_database_url: str, tmp_path: Path) -> Iterator[Env]:
    """A gateway on each database whose /metrics re-reads the database at every scrape."""
    yield from gateway_env(empty_database_url, tmp_path, metrics_cache_seconds=0.0)


def scrape(env: Env, who: str = "admin") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = env.http.get("/metrics", headers=env.as_(who))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_per_route_template_not_per_path(obs_env: Env) -> None:
    route = "/api/v1/edocs/{package_id}"
    before = scrape(obs_env)
    for raw_id in ("0" * 32, "f" * 32, "not-an-id"):
        assert obs_env.http.get(f"/api/v1/edocs/{raw_id}", headers=obs_env.as_("A")).status_code == 404
    assert obs_env.http.get("/healthz").status_code == 200
    assert obs_env.http.get("/no/such/path").status_code == 404
    after = scrape(obs_env)

    count = "edoc_http_requests_total"
    assert value(after, count, method="GET", route=route, status="404") - value(
        before, count, method="GET", route=route, status="404"
    ) == 3
    assert value(after, count, method="GET", route="/healthz", status="200") >= 1
    assert value(after, count, method="GET", route="<unmatched>", status="404") >= 1
    histogram = value(after, "edoc_http_request_duration_seconds_count", method="GET", route=route)
    assert histogram - value(before, "edoc_http_request_duration_seconds_count", method="GET", route=route) == 3
    text = obs_env.http.get("/metrics", headers=obs_env.as_("admin")).text
    assert "not-an-id" not in text and "f" * 32 not in text and "/no/such/path" not in text
    assert value(after, "process_resident_memory_bytes") > 0  # the client's process collector


def test_deliveries_and_outbox_lag_follow_the_database(obs_env: Env) -> None:
    empty = scrape(obs_env)
    assert value(empty, "edoc_outbox_pending") == 0
    assert value(empty, "edoc_deliveries", state="pending") == 0
    assert value(empty, "edoc_dead_letters") == 0

    for n in ("1", "2"):
        assert submit(obs_env, "A", header(A, [B], number=n)).status_code == 202
    submitted = scrape(obs_env)
    assert value(submitted, "edoc_deliveries", state="pending") == 2
    assert value(submitted, "edoc_outbox_pending") >= 2
    assert value(submitted, "edoc_outbox_ready") >= 2
    assert value(submitted, "edoc_outbox_oldest_pending_seconds") >= 0

    obs_env.deliver()
    delivered = scrape(obs_env)
    assert value(delivered, "edoc_deliveries", state="pending") == 0
    assert value(delivered, "edoc_deliveries", state="delivered") == 2
    assert value(delivered, "edoc_outbox_pending") == 0
    assert value(delivered, "edoc_outbox_oldest_pending_seconds") == 0


def test_metrics_need_an_admin_key_or_an_allowed_address(obs_env: Env) -> None:
    anonymous = obs_env.http.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "missing_api_key"
    wrong_role = obs_env.http.get("/metrics", headers=obs_env.as_("A"))
    assert wrong_role.status_code == 403 and wrong_role.json()["code"] == "wrong_role"
    assert obs_env.http.get("/metrics", headers={"Authorization": "Bearer edk_nope"}).status_code == 401
    # loopback is in EDOC_METRICS_ALLOW by default: a local Prometheus scrapes without a key
    with TestClient(obs_env.http.app, client=("127.0.0.1", 40000)) as local:
        assert local.get("/metrics").status_code == 200


def test_a_scrape_reads_the_database_at_most_once_per_interval(sqlite_env: Env) -> None:
    """The default interval (5 s): scrapes in a burst get one reading, so they cannot make the database work."""
    assert scrape(sqlite_env)[("edoc_deliveries", (("state", "pending"),))] == 0
    assert submit(sqlite_env, "A", header(A, [B])).status_code == 202
    assert value(scrape(sqlite_env), "edoc_deliveries", state="pending") == 0  # the reading of a moment ago


def test_request_id_and_trace_context(sqlite_env: Env) -> None:
    records: list[dict[str, str | None]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            ctx = context.current()
            records.append({"trace": ctx.trace_id if ctx else None, "request": ctx.request_id if ctx else None,
                            "agency": ctx.agency if ctx else None, "message": record.getMessage()})  # fmt: skip

    access = logging.getLogger("edoc.access")
    capture, level = Capture(), access.level
    access.addHandler(capture)
    access.setLevel(logging.INFO)
    try:
        kept = sqlite_env.http.get("/api/v1/inbox", headers={**sqlite_env.as_("A"), "traceparent": TRACEPARENT,
                                                              "X-Request-ID": "dms-42"})  # fmt: skip
        replaced = sqlite_env.http.get("/healthz", headers={"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"})
        odd_id = sqlite_env.http.get("/healthz", headers={"X-Request-ID": "a b;" * 40})
    finally:
        access.removeHandler(capture)
        access.setLevel(level)
    assert kept.headers["x-request-id"] == "dms-42"
    assert records[0] == {"trace": TRACE, "request": "dms-42", "agency": A, "message": records[0]["message"]}
    assert records[0]["message"].startswith("GET /api/v1/inbox 200 ")
    assert records[1]["trace"] != "0" * 32 and re.fullmatch("[0-9a-f]{32}", records[1]["trace"] or "")
    assert re.fullmatch("[0-9a-f]{16}", odd_id.headers["x-request-id"])
    assert replaced.status_code == 200


@pytest.mark.parametrize(
    "header_value",
    ["", "garbage", f"01-{TRACE}-00f067aa0ba902b7-01", f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
     f"00-{TRACE}-0000000000000000-01", f"00-{TRACE}-00f067aa0ba902b7"],
)  # fmt: skip
def test_malformed_traceparents_are_refused(header_value: str) -> None:
    assert parse_traceparent(header_value) is None


class _Peer(BaseHTTPRequestHandler):
    """Stands in for the uplink node: records the headers of every call and answers a VXP FAIL envelope."""

    seen: ClassVar[list[dict[str, str]]] = []

    def _answer(self) -> None:
        _Peer.seen.append({k.lower(): v for k, v in self.headers.items()})
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"status": "FAIL", "ErrorCode": "X", "ErrorDesc": "peer for tests"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def peer() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Peer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Peer.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/vxp"
    server.shutdown()
    server.server_close()


def _call(endpoint: str) -> None:
    client = VxpClient(endpoint, "lgsp.test", "secret-for-tests")
    with client, pytest.raises((VxpRemoteError, VxpResponseError, VxpTransportError)):
        client.get_agencies_list()


def test_uplink_calls_carry_the_requests_trace(peer: str) -> None:
    _ctx, token = context.start(TRACEPARENT)
    try:
        _call(peer)
    finally:
        context.reset(token)
    sent = parse_traceparent(_Peer.seen[-1]["traceparent"])
    assert sent is not None and sent.trace_id == TRACE  # the same trace ...
    assert sent.parent_id not in ("00f067aa0ba902b7", _ctx.span_id)  # ... one hop further
    _call(peer)  # outside a request (the delivery worker, the pollers): a trace of its own
    alone = parse_traceparent(_Peer.seen[-1]["traceparent"])
    assert alone is not None and alone.trace_id != TRACE


def test_the_workers_uplink_delivery_continues_the_submitting_requests_trace(peer: str, tmp_path: Path) -> None:
    """The uplink call is made later by the delivery worker, outside any request: the outbox row carries the
    DMS's trace to it (a local delivery, which makes no call, carries none)."""
    env = gateway_env(
        f"sqlite:///{tmp_path / 'edoc.sqlite3'}", tmp_path,
        uplinks={"peer": {"endpoint": peer, "systemid": "lgsp.test", "secret": "secret-for-tests"}},
        routes=({"pattern": B, "target": "peer"},),
    )  # fmt: skip
    trace_env = next(env)
    try:
        sent = trace_env.http.post(
            "/api/v1/edocs", data={"header": json.dumps(header(A, [B]))},
            files=[("files", ("a.pdf", b"%PDF-1.4 x", "application/pdf"))],
            headers={**trace_env.as_("A"), "traceparent": TRACEPARENT},
        )  # fmt: skip
        assert sent.status_code == 202, sent.text
        _Peer.seen.clear()
        trace_env.deliver()  # the peer answers FAIL: the delivery is retried later, the call was made
        calls = [parse_traceparent(seen.get("traceparent")) for seen in _Peer.seen]
        assert calls and all(c is not None and c.trace_id == TRACE for c in calls), _Peer.seen
        assert all(c is not None and c.parent_id != "00f067aa0ba902b7" for c in calls)  # hops of their own
    finally:
        env.close()


def test_json_logs_of_a_real_server_name_the_request_and_never_a_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'edoc.sqlite3'}"
    keys = provision(url, tmp_path, prefix="obs", clients=(("A", A),))
    password = "Mật-khẩu-không-được-ghi-9f3a"  # a test value that must never reach the log
    server = GatewayProcess(tmp_path, database_url=url, log_format="json", embedded_worker="false").start()
    try:
        with httpx.Client(base_url=server.base, timeout=30) as http:
            auth = {"Authorization": f"Bearer {keys['A']}", "traceparent": TRACEPARENT}
            assert http.get("/api/v1/inbox", headers=auth).status_code == 200
            http.post(f"/api/v1/admin/clients?password={password}&api_key={keys['A']}", headers=auth,
                      json={"name": "x", "role": "dms", "password": password, "api_key": keys["A"]})  # fmt: skip
            http.get(f"/api/v1/edocs/{'a' * 32}", headers={"Authorization": f"Bearer {keys['A']}x"})
    finally:
        server.stop()
    text = server.log.read_text(encoding="utf-8")
    assert keys["A"] not in text and keys["A"][4:20] not in text
    assert password not in text and "không-được-ghi" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "edoc.access"]
    inbox = next(line for line in access if line.get("route") == "/api/v1/inbox")
    assert inbox["trace_id"] == TRACE and inbox["agency"] == A and inbox["status"] == 200
    assert {"time", "level", "logger", "message", "request_id"} <= inbox.keys()
    record = next(line for line in access if line.get("route") == "/api/v1/edocs/{package_id}")
    assert record["document_id"] == "a" * 32 and record["status"] == 401
    assert not any("Traceback" in line for line in text.splitlines())
    assert not [line for line in text.splitlines() if line.strip() and not line.startswith("{")], "non-JSON lines"


def test_a_dead_letter_is_counted(tmp_path: Path) -> None:
    """A delivery to an uplink that never answers dies after the retry schedule: the gauges say so."""
    closed = f"http://127.0.0.1:{free_port()}/vxp"  # nothing listens there
    env = gateway_env(
        f"sqlite:///{tmp_path / 'edoc.sqlite3'}", tmp_path, metrics_cache_seconds=0.0,
        uplinks={"peer": {"endpoint": closed, "systemid": "lgsp.test", "secret": "secret-for-tests",
                          "timeout_seconds": 2}},
        routes=({"pattern": B, "target": "peer"},),
    )  # fmt: skip
    obs_env = next(env)
    try:
        assert submit(obs_env, "A", header(A, [B])).status_code == 202
        obs_env.deliver()
        samples = scrape(obs_env)
        assert value(samples, "edoc_dead_letters") == 1
        assert value(samples, "edoc_deliveries", state="dead") == 1
        assert value(samples, "edoc_deliveries", state="pending") == 0
    finally:
        env.close()
