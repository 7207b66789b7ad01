"""Dead letters (admin): ``GET /api/v1/admin/dead-letters`` and ``POST /api/v1/admin/dead-letters/{id}/requeue``
(service/exchange/dead_letters.py; the same for the ``db://`` and ``amqp://`` buses)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from service.access import Op, require
from service.api.deps import CallerDep, GatewayDep
from service.exchange.dead_letters import list_dead_letters, requeue_dead_letter

router = APIRouter(prefix="/api/v1/admin", tags=["dead letters"])


@router.get("/dead-letters", summary="Messages the bus gave up on, the latest first (paged)")
def dead_letters(
    gw: GatewayDep, caller: CallerDep, offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    require(caller, Op.DEAD_LETTERS)
    with gw.sessions() as session:
        page = list_dead_letters(session, offset=offset, limit=limit)
    return {"items": page.items, "total": page.total, "offset": page.offset, "limit": page.limit}


@router.post("/dead-letters/{message_id}/requeue", summary="Make a dead letter due again (a fresh retry schedule)")
def requeue(message_id: int, gw: GatewayDep, caller: CallerDep) -> dict[str, Any]:
    require(caller, Op.DEAD_LETTERS)
    with gw.writes() as session, session.begin():
        answer = requeue_dead_letter(session, message_id, actor=caller.name)
    gw.wakeup.set()
    return answer
