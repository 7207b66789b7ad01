"""The delivery worker as a process: ``edoc worker``, and the one ``edoc serve`` starts beside its HTTP processes.

Why ``edoc serve`` runs its worker as a child process rather than as a thread in each HTTP process: CPython runs
one thread at a time per process, and a delivery round (claiming, building and signing status packages, checking
PDF signatures, recording a batch) holds that lock for milliseconds at a stretch. Every request of the process
then waits behind it: at 100 documents/s offered to the native API on a 2-core machine, the median submit took
51-66 ms and the 95th percentile 94-102 ms with the worker as a thread in each HTTP process, against 30-32 ms and
51-53 ms with the same work in a process of its own (bench/exchange.py --rate 100, paired runs), for the same
CPU per document. The operating system shares cores between processes far more finely than the interpreter
shares itself between threads.

The child exits with its parent, however the parent goes: on Linux the kernel sends it SIGTERM when the parent
dies (``PR_SET_PDEATHSIG``; a SIGKILLed gateway leaves no orphan working on its own), and a watchdog notices a
changed parent process id anywhere else. SIGTERM and SIGINT stop it after the batch in hand; the outbox leases
make whatever it had claimed but not finished available again after ``EDOC_WORKER_LEASE_SECONDS``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
from typing import Any

__all__ = [
    "block_stop_signals",
    "exit_with_parent_process",
    "run_worker",
    "start_worker_process",
    "stop_on_signals",
    "stop_worker_process",
]

logger = logging.getLogger("edoc.delivery")


def run_worker(gw: Any, stop: threading.Event) -> None:
    """Deliver until ``stop`` is set, with this node's uplink pollers (the process that delivers also pulls) and
    the remote-signing poller and the transparency log's sequencer."""
    from service.exchange.delivery import DeliveryWorker
    from service.exchange.tlog import log_service
    from service.remote_poller import start_poller
    from service.vxp.uplink import start_pollers

    pollers = start_pollers(gw, stop)
    remote = start_poller(gw, stop)  # remote signatures waiting for an official's phone (issue 23)
    sequencer = log_service(gw).start(stop)  # integrates new log leaves, cuts a checkpoint within a second
    DeliveryWorker(gw).run_forever(stop)
    for thread in (*pollers, *([remote] if remote else []), sequencer):
        thread.join(timeout=10)


_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def block_stop_signals() -> None:
    """Block SIGTERM and SIGINT in this thread and in every thread it starts from now on (see
    :func:`stop_on_signals`); call it before any other thread is started."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    if threading.current_thread() is threading.main_thread():
        # A shell starting us in the background makes us ignore SIGINT, and POSIX lets a system discard an ignored
        # signal even when it is blocked (Linux keeps it pending); blocked, SIG_DFL only keeps it pending for sigwait.
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)


def stop_on_signals(gw: Any, stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` and wake the worker, from a thread of their own that takes them with
    ``sigwait`` (the signals are blocked in every other thread).

    Not from a Python signal handler: a handler runs in the main thread between two bytecodes, possibly while that
    thread holds the lock inside a ``threading.Event`` (the worker waiting for its next round, or clearing its
    wake-up), and ``Event.set`` in the handler then waits for that lock forever, the parent watchdog's too. That is
    the likely cause of a worker that outlived its SIGKILLed gateway once in tests/e2e/test_serve_worker_process.py
    (one run in about forty)."""
    block_stop_signals()

    def _wait_for_a_stop_signal() -> None:
        signal.sigwait(_STOP_SIGNALS)
        stop.set()
        gw.wakeup.set()

    threading.Thread(target=_wait_for_a_stop_signal, name="edoc-stop-signals", daemon=True).start()


def start_worker_process() -> multiprocessing.process.BaseProcess:
    """Start the delivery worker as a child of this process (settings from the environment, as the parent's)."""
    process = multiprocessing.get_context(method="spawn").Process(
        target=_child_main, args=(os.getpid(),), name="edoc-delivery", daemon=False
    )
    process.start()
    return process


def stop_worker_process(process: multiprocessing.process.BaseProcess, timeout: float = 15.0) -> None:
    """SIGTERM, wait for the batch in hand, then SIGKILL if it does not finish."""
    if process.is_alive():
        process.terminate()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(5)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no prctl: the watchdog below still notices
            pass


def exit_with_parent_process() -> None:
    """In an HTTP worker process that uvicorn started (``edoc serve --workers N``, N > 1): stop when the process
    that started it is gone. Nothing elsewhere (one process, or a server that forks its own workers).

    uvicorn's supervisor does not take its worker processes down when it is SIGKILLed: they kept the listening
    socket and went on answering requests beside a restarted gateway, and every run of the SIGKILL test left two
    behind. As for the delivery worker: the kernel sends SIGTERM when the parent dies (``PR_SET_PDEATHSIG``), which
    uvicorn's worker takes as a normal shutdown; a watchdog thread covers the moment before that took effect and
    systems without it."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return
    pid = parent.pid
    _die_with_parent()

    def _watch() -> None:
        while os.getppid() == pid:
            threading.Event().wait(1.0)
        logger.warning("HTTP worker process %s: the gateway process %s is gone; stopping", os.getpid(), pid)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=_watch, name="edoc-parent-watch", daemon=True).start()


def _watch_parent(parent: int, gw: Any, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            logger.warning("delivery worker: the gateway process %s is gone; stopping", parent)
            stop.set()
            gw.wakeup.set()


def _child_main(parent: int) -> None:
    block_stop_signals()  # before any thread starts, so that every thread inherits it (stop_on_signals)
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        return
    from service.logs import configure_logging

    configure_logging("INFO")
    from service.app import tune_gc
    from service.settings import Settings
    from service.wiring import build_gateway

    gw = build_gateway(Settings())
    stop = threading.Event()
    stop_on_signals(gw, stop)
    threading.Thread(target=_watch_parent, args=(parent, gw, stop), name="edoc-parent-watch", daemon=True).start()
    tune_gc()
    logger.info("delivery worker process %s started for gateway process %s", os.getpid(), parent)
    try:
        run_worker(gw, stop)
    finally:
        gw.close()
