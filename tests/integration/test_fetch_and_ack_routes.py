"""The routes every recipient calls for every document, fetching the package and acking it, and the submit's
header checks: what they answer on both databases. (Kept from the tests of the removed LeanRoute and event-loop
driver, issue 19 item 5; the parity checks against those devices went with them.)"""

from __future__ import annotations

import hashlib

import pytest

from service.app import create_app
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, C, Env
from tests.support.pdfs import simple_pdf


def test_fetch_and_ack_answer_for_the_recipient_and_refuse_the_others(env: Env) -> None:
    doc = submit(env, "A", header(A, [B]), files=[("vb.pdf", simple_pdf(1, pad_to=80_000))]).json()["id"]
    env.deliver()
    fetched = env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_("B"))
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "application/xml"
    assert hashlib.sha256(fetched.content).hexdigest() == fetched.headers["etag"].strip('"')
    assert fetched.content.startswith(b"<?xml") and b"vb.pdf" in fetched.content
    acked = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B"))
    assert acked.json() == {"id": doc, "agency": B, "state": "acked", "already": False}
    again = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B"))
    assert again.status_code == 200 and again.json()["already"] is True
    refused = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("C"))
    assert refused.status_code == 404 and refused.json()["code"] == "unknown_package"
    unknown = env.http.get("/api/v1/edocs/no-such-package/edxml", headers=env.as_("B"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_package"


def test_a_package_over_the_inline_limit_is_streamed_whole(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.api import edocs

    monkeypatch.setattr(edocs, "INLINE_BLOB", 10_000)  # stream anything over 10 KB (the default is 4 MiB)
    doc = submit(env, "A", header(A, [B]), files=[("vb.pdf", simple_pdf(1, pad_to=80_000))]).json()["id"]
    env.deliver()
    fetched = env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_("B"))
    assert fetched.status_code == 200
    sha = fetched.headers["etag"].strip('"')
    assert hashlib.sha256(fetched.content).hexdigest() == sha
    assert int(fetched.headers["content-length"]) == len(fetched.content) > 10_000


def test_an_over_long_idempotency_key_is_refused(sqlite_env: Env) -> None:
    resp = submit(sqlite_env, "A", header(A, [B], number="9001"), key="k" * 201)
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"] == [
        {
            "loc": ["header", "Idempotency-Key"],
            "msg": "String should have at most 200 characters",
            "type": "string_too_long",
        }
    ]
    assert submit(sqlite_env, "A", header(A, [B], number="9002"), key="k" * 200).status_code == 202


def test_the_ack_takes_its_agency_from_the_query(sqlite_env: Env) -> None:
    """A client acting for several agencies names the one acking; an agency it does not act for is refused."""
    doc = submit(sqlite_env, "A", header(A, [B, C], number="9003"), files=[("vb.pdf", simple_pdf(1))]).json()["id"]
    sqlite_env.deliver()
    refused = sqlite_env.http.post(f"/api/v1/edocs/{doc}/ack?agency={C}", headers=sqlite_env.as_("B"))
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_agency", refused.text
    acked = sqlite_env.http.post(f"/api/v1/edocs/{doc}/ack?agency={B}", headers=sqlite_env.as_("B"))
    assert acked.status_code == 200 and acked.json()["agency"] == B


def test_healthz_answers_while_every_thread_of_the_pool_is_busy(sqlite_env: Env) -> None:
    """A liveness probe must not queue behind the work it watches: under load the thread pool is full of submits
    (and a stuck one would hold its thread), and a probe waiting for a free thread would time out on a process
    that is alive, so the orchestrator would restart it. /healthz answers from the event loop."""
    import asyncio
    import threading

    import anyio.to_thread
    import httpx

    app = create_app(gateway=sqlite_env.gw)
    release = threading.Event()

    async def main() -> int:
        limiter = anyio.to_thread.current_default_thread_limiter()
        busy = [asyncio.ensure_future(anyio.to_thread.run_sync(release.wait)) for _ in range(int(limiter.total_tokens))]
        try:
            while limiter.borrowed_tokens < limiter.total_tokens:
                await asyncio.sleep(0.01)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                answer = await asyncio.wait_for(client.get("/healthz"), timeout=5)
            return answer.status_code
        finally:
            release.set()
            await asyncio.gather(*busy)

    assert asyncio.run(main()) == 200
