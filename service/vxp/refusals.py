"""The exchange log's record of VXP calls refused before the caller was known, kept bounded.

Every refusal was one ``vxp_refused`` row (issue 17): a flood of unauthenticated calls wrote a row per call, so
anyone could fill the database. Now the first refusal of a kind (operation, code, claimed system id) in a window
of ``refusal_log_seconds`` is written at once, as before, so a single failing client is still seen with its
reason; the repeats are counted in memory and written as **one** ``vxp_refused`` event per kind with
``repeated: <count>`` when the window is over (at the next refusal, or when the process stops). A window holds at
most :data:`MAX_KINDS` kinds: beyond, refusals are counted under the claimed system id ``*``, so the rows written
per window stay bounded whatever the callers send. Refusals of authenticated calls (a package refused by
policy) are not affected: those callers are known and each refusal is its own row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from service.context import Gateway
from service.exchange import log

__all__ = ["MAX_KINDS", "RefusalLog"]

logger = logging.getLogger("edoc.vxp")

MAX_KINDS = 50
Kind = tuple[str, str, str]  # operation, code, claimed system id


class RefusalLog:
    """Thread-safe; one per facade (module docstring)."""

    def __init__(self, gw: Gateway, *, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._gw = gw
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._counts: dict[Kind, int] = {}

    def note(self, *, operation: str, code: str, claimed: str | None, **detail: Any) -> None:
        """Record one refusal: written now if it is the first of its kind in the window, else counted."""
        now = self._clock()
        with self._lock:
            due = self._rotate(now)
            kind = (operation, code, claimed or "?")
            if kind not in self._counts and len(self._counts) >= MAX_KINDS:
                kind = (operation, code, "*")
            first = kind not in self._counts
            self._counts[kind] = self._counts.get(kind, 0) + (0 if first else 1)
        rows = [_row(k, repeated=n) for k, n in due.items() if n]
        if first:
            rows.insert(0, _row(kind, **detail))
        self._write(rows)

    def flush(self) -> None:
        """Write the repeats counted so far (at shutdown)."""
        with self._lock:
            due, self._counts = self._counts, {}
            self._started = self._clock()
        self._write([_row(k, repeated=n) for k, n in due.items() if n])

    def _rotate(self, now: float) -> dict[Kind, int]:
        if now - self._started < self._window:
            return {}
        due, self._counts = self._counts, {}
        self._started = now
        return due

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        try:
            with self._gw.writes() as session, session.begin():
                log.record_many(session, rows)
        except Exception:  # the answer must not depend on the log being writable
            logger.warning("could not log %d VXP refusal event(s)", len(rows), exc_info=True)


def _row(kind: Kind, **detail: Any) -> dict[str, Any]:
    operation, code, claimed = kind
    agency = detail.pop("agency", None)
    return log.event(
        "vxp_refused",
        actor=f"vxp:{claimed}" if claimed != "?" else "vxp:?",
        agency=agency,
        operation=operation,
        code=code,
        **detail,
    )
