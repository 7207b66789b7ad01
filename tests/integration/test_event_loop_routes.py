"""The package fetch and the ack run their statement from the event loop on PostgreSQL (storage/aio.py), and go
to the thread pool on SQLite; both answer the same. The app's lifespan opens the loop's driver and closes it."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from storage.db import is_postgresql
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, Env
from tests.support.pdfs import simple_pdf


def test_fetch_and_ack_go_through_the_loops_driver_on_postgresql_only(env: Env) -> None:
    aio = env.http.app.state.aio  # type: ignore[attr-defined]
    assert (aio is not None) == is_postgresql(env.gw.engine)
    doc = submit(env, "A", header(A, [B]), files=[("vb.pdf", simple_pdf(1, pad_to=80_000))]).json()["id"]
    env.deliver()
    before = aio.statements() if aio is not None else 0

    fetched = env.http.get(f"/api/v1/edocs/{doc}/edxml", headers=env.as_("B"))
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "application/xml"
    assert fetched.headers["etag"].strip('"') in {p.name for p in (env.gw.settings.data_dir / "objects").rglob("*")}
    assert fetched.content.startswith(b"<?xml") and b"vb.pdf" in fetched.content
    acked = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B"))
    assert acked.json() == {"id": doc, "agency": B, "state": "acked", "already": False}
    again = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("B"))  # the general path says why
    assert again.json()["already"] is True
    refused = env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_("C"))
    assert refused.status_code == 404 and refused.json()["code"] == "unknown_package"
    unknown = env.http.get("/api/v1/edocs/no-such-package/edxml", headers=env.as_("B"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_package"

    if aio is not None:
        # fetch: the package's row; acks: the one-statement ack, three times (two moved nothing); the 404 fetch
        assert aio.statements() - before == 5


def test_the_lifespan_opens_the_driver_and_closes_it(env: Env) -> None:
    app = create_app(gateway=env.gw)
    assert app.state.aio is None  # not before the app starts
    with TestClient(app) as http:
        aio = app.state.aio
        assert (aio is not None) == is_postgresql(env.gw.engine)
        assert http.get("/healthz").status_code == 200
    assert app.state.aio is None
    if aio is not None:
        assert aio.closed  # the pool must not outlive the app


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
