"""The remote-signing poller (issue 23): a thread beside the delivery worker that asks providers about pending
signatures and calls the webhooks of ended ones, so a webhook fires and a closed window is noticed even when no
client polls, also after a restart. Runs where the delivery worker runs: the worker process of ``edoc serve``,
``edoc worker`` (service/worker_process.py), or the embedded worker of an app (the signing router's lifespan).
Several pollers (replicas) share the work safely: each transaction is claimed before it is polled
(storage/remote_signing.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from service.remote_signing import poll
from storage import remote_signing as repo

if TYPE_CHECKING:
    from service.context import Gateway

__all__ = ["poll_due", "poller_lifespan", "start_poller"]

log = logging.getLogger(__name__)


def poll_due(gw: Gateway, *, worker: str) -> int:
    """One round of the background poller: pending transactions whose poll is due, webhooks waiting; returns how
    many transactions were looked at."""
    with gw.sessions() as session:
        ids = repo.due(session)
    for tx in ids:
        try:
            poll(gw, tx, caller=None, worker=worker)
        except Exception:  # one bad transaction must not stop the others
            log.exception("polling remote signing %s failed", tx)
    return len(ids)


def start_poller(gw: Gateway, stop: threading.Event) -> threading.Thread | None:
    """With a remote signer configured, a thread that polls due transactions and calls their webhooks every
    ``EDOC_REMOTE_POLL_SECONDS`` until ``stop``: a webhook fires and an expired confirmation is noticed even when
    no client polls, including after a restart. Run where the delivery worker runs (the worker process of
    ``edoc serve``, ``edoc worker``, or the embedded worker)."""
    if not gw.settings.remote_signers:
        return None
    worker = f"poller-{os.getpid()}"

    def run() -> None:
        while not stop.wait(gw.settings.remote_poll_seconds):
            try:
                poll_due(gw, worker=worker)
            except Exception:  # the database away for a moment: try again next round
                log.exception("remote signing poller round failed")

    thread = threading.Thread(target=run, name="edoc-remote-signing", daemon=True)
    thread.start()
    return thread


@asynccontextmanager
async def poller_lifespan(app: Any) -> AsyncIterator[None]:
    """Lifespan of the signing router: :func:`start_poller` in an app that runs the embedded worker."""
    gw = getattr(app.state, "gateway", None)
    stop = threading.Event()
    thread = start_poller(gw, stop) if gw is not None and gw.settings.embedded_worker else None
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=10)
