"""INTEGRATION SEAMS with issue 21 items 1-5 (the transparency log, built by another branch).

Two functions the pages call and that the integrator wires once the log exists; until then they answer "nothing
yet", and the pages say so ("chưa có" in the timeline's proof column; "not available" on the evidence page):

- :func:`proof_statuses` — for the events of a timeline, the state of each event's inclusion proof (e.g. the leaf
  index and whether a signed checkpoint covers it). Wire it to storage/tlog.
- :func:`bundle_verifier` — the offline checker of an evidence bundle (``verify_bundle`` in service/evidence or
  storage/tlog): bytes of a zip → :class:`BundleCheck`. Return it here instead of None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from service.context import Gateway

__all__ = ["BundleCheck", "BundleVerifier", "bundle_verifier", "proof_statuses"]


@dataclass(frozen=True, slots=True)
class BundleCheck:
    """What the evidence page shows: the verdict and one line per problem (as ``edoc evidence verify`` prints)."""

    ok: bool
    problems: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)  # e.g. document id, tree size, checkpoint origin


BundleVerifier = Callable[[Gateway, bytes], BundleCheck]


def proof_statuses(gw: Gateway, event_ids: Sequence[int]) -> Mapping[int, str]:
    """Event id → a short proof state for the timeline; events missing from the mapping show "chưa có".

    SEAM: returns nothing until the transparency log is merged."""
    del gw, event_ids
    return {}


def bundle_verifier(gw: Gateway) -> BundleVerifier | None:
    """The evidence-bundle checker, or None while there is none (the page then explains it is not available).

    SEAM: wire to ``verify_bundle`` of the transparency log after merge."""
    del gw
    return None
