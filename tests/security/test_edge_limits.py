"""Issue 17 item 2: what a caller without any credential could make the gateway hold, against a served gateway.

Each case reproduces an attack of the issue at a bounded size (the served gateway's limits are small: see
conftest.LIMITS) and checks the refusal comes before the gateway holds more than its limit.
"""

from __future__ import annotations

import contextlib
import json
import time

import httpx

from tests.security.conftest import KiB, MiB, Served
from tests.security.rawhttp import connect, read_reply, send_chunked_until_answered

BOUNDARY = "edocsecuritytest"


def _multipart_head(path: str, port: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
        f'{len(_PART_HEAD):x}\r\n'
    ).encode() + _PART_HEAD + b"\r\n"


_PART_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
    "Content-Type: application/pdf\r\n\r\n"
).encode()


def test_unknown_vxp_operation_is_answered_before_its_body(served: Served) -> None:
    """POST /vxp/doesNotExist with a big body, no login: 404 at once, the body never read."""
    with connect(served.port) as sock:
        sock.sendall(f"POST /vxp/doesNotExist HTTP/1.1\r\nHost: x\r\nContent-Length: {MiB}\r\n\r\n".encode())
        started = time.monotonic()
        reply = read_reply(sock, timeout=5)
    assert reply.status == 404, reply
    assert json.loads(reply.body)["ErrorCode"] == "VXP-404-NO-OPERATION"
    assert time.monotonic() - started < 4  # at once (before: no answer until the whole body came)


def test_vxp_send_without_valid_signature_is_refused_before_its_body(served: Served) -> None:
    with connect(served.port) as sock:
        sock.sendall(
            f"POST /vxp/sendEdoc HTTP/1.1\r\nHost: x\r\nXroadVnpt-systemid: nobody\r\n"
            f"Content-Length: {MiB * 3 // 2}\r\n\r\n".encode()
        )
        reply = read_reply(sock, timeout=5)
    assert reply.status == 401, reply
    assert json.loads(reply.body)["status"] == "FAIL"


def test_declared_body_over_the_limit_is_refused_unread(served: Served) -> None:
    auth = f"Authorization: Bearer {served.keys['demo-dms-sotttt']}\r\n"
    for path, extra in (("/verify", ""), ("/api/v1/edocs", auth), ("/vxp/sendEdoc", ""), ("/api/v1/agencies", "")):
        with connect(served.port) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {1024 * MiB}\r\n\r\n".encode())
            reply = read_reply(sock, timeout=5)
        assert reply.status == 413, (path, reply)


def test_chunked_upload_is_stopped_at_the_limit(served: Served) -> None:
    """A chunked multipart of up to 64 MiB to /verify (no login) and /api/v1/edocs (with a key): the gateway stops
    reading near its limit (1 MiB PDF, 2 MiB package, plus multipart slack) instead of spooling it all."""
    key = served.keys["demo-dms-sotttt"]
    for path, extra in (("/verify", ""), ("/api/v1/edocs", f"Authorization: Bearer {key}\r\n")):
        with connect(served.port) as sock:
            reply, sent = send_chunked_until_answered(
                sock, _multipart_head(path, served.port, extra), chunk=b"%" * (64 * KiB), most=64 * MiB
            )
        # the limit plus slack (6 MiB at most), plus what the kernel's socket buffers took in meanwhile
        assert sent < 32 * MiB, (path, sent)
        if reply is not None:  # else the connection was reset under our feet, after the server stopped reading
            assert reply.status == 413, (path, reply)
            assert json.loads(reply.body)["code"] == "body_too_large"


def test_oversized_request_heads_get_431(served: Served) -> None:
    for head in (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MiB + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(100_000)) + b"\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
    ):
        with connect(served.port) as sock:
            with contextlib.suppress(OSError):  # the server answered and closed before taking all of it
                sock.sendall(head)
            reply = read_reply(sock, timeout=5)
        assert reply.status == 431, reply
    assert httpx.get(f"{served.base}/healthz").status_code == 200


def test_slow_head_is_dropped(served: Served) -> None:
    with connect(served.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        reply = read_reply(sock, timeout=10)
    assert reply.status == 408
    assert time.monotonic() - started < 5


def test_idle_bodies_hold_no_verification_slot(served: Served) -> None:
    """Three connections hold POST /verify bodies open: /verify still answers others at once, and the idle ones
    are refused (408) once their body has been silent for body_idle_timeout_seconds."""
    idle = []
    for _ in range(3):
        sock = connect(served.port)
        sock.sendall(
            f"POST /verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {100 * KiB}\r\n\r\n".encode() + _PART_HEAD
        )
        idle.append(sock)
    try:
        time.sleep(0.3)
        started = time.monotonic()
        resp = httpx.post(f"{served.base}/verify", files={"file": ("x.pdf", b"not a pdf", "application/pdf")})
        assert resp.status_code != 503, resp.text
        assert resp.status_code < 500
        assert time.monotonic() - started < 10  # not after the idle bodies' timeout
        for sock in idle:
            assert read_reply(sock, timeout=6).status == 408
    finally:
        for sock in idle:
            sock.close()


def test_unauthenticated_vxp_refusals_are_aggregated_in_the_log(served: Served) -> None:
    import sqlite3

    def refused_rows() -> int:
        with sqlite3.connect(served.data_dir / "edoc.sqlite3") as db:
            return int(db.execute("SELECT count(*) FROM exchange_event WHERE kind = 'vxp_refused'").fetchone()[0])

    before = refused_rows()
    with httpx.Client(base_url=served.base) as client:
        for _ in range(60):
            resp = client.post("/vxp/getReceivedEdocList", headers={"XroadVnpt-systemid": "flooder"})
            assert resp.status_code == 401
    assert refused_rows() - before <= 2  # the first refusal of its kind; the repeats are one counted row later
