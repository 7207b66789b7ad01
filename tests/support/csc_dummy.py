"""The PyPI ``certomancer-csc-dummy`` CSC server (pyHanko's author's demo server) as a second CSC peer, on 127.0.0.1.

TEST ONLY. It speaks CSC API v1 without OAuth (any bearer is accepted) and signs with the test PKI's own keys,
read from the certomancer architecture of :class:`tests.support.pki.TestPki`; credential IDs are
``"<arch>/<certificate label>"``, e.g. ``edoc-test/good-rsa``. Its aiohttp application runs in a thread with its
own event loop, on a socket bound before start-up (free port).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.pki import TestPki

__all__ = ["available", "running_csc_dummy"]


def available() -> bool:
    try:
        import csc_dummy.csc_dummy_server  # noqa: F401
    except ImportError:
        return False
    return True


class _OneArch:
    """The part of certomancer's CertomancerConfig the dummy server reads, over the test PKI's architecture."""

    def __init__(self, pki: TestPki) -> None:
        from certomancer.registry import ArchLabel

        from tests.support.pki.arch import ARCH

        self.pki_archs = {ArchLabel(ARCH): pki._arch}

    def get_pki_arch(self, label: Any) -> Any:
        from certomancer.config_utils import ConfigurationError

        try:
            return self.pki_archs[label]
        except KeyError:
            raise ConfigurationError(f"unknown architecture {label}") from None


@contextmanager
def running_csc_dummy(pki: TestPki) -> Iterator[str]:
    """The dummy server's base URL (the part before ``/csc/v1``) while the context is open."""
    from aiohttp import web
    from csc_dummy.csc_dummy_server import CSCWithCertomancer, DummyServiceParams

    csc = CSCWithCertomancer(_OneArch(pki), service_params=DummyServiceParams(hash_pinning_required=True))  # type: ignore[arg-type]
    csc.register_routes()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(csc.app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.SockSite(runner, sock).start())
    thread = threading.Thread(target=loop.run_forever, name="csc-dummy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(runner.cleanup())
        loop.close()
