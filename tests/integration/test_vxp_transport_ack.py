"""The VXP transport ack's two variants (storage/vxp.py ``TransportAcks``) leave the same rows: on PostgreSQL the
one statement through the driver, elsewhere (and here, on PostgreSQL too, for the comparison) a writer
transaction. So this runs on PostgreSQL only (``pg_env``); the facade's behaviour on both databases is in
test_vxp_sdk_flow.py."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from storage.db import is_postgresql
from storage.models import Delivery, ExchangeEvent, utcnow
from storage.vxp import TransportAcks
from tests.integration.test_vxp_sdk_flow import vxp_system
from tests.support.gateway import A, B, C, Env
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml


def _rows(env: Env, doc: str) -> tuple[list[Any], list[Any]]:
    with env.gw.sessions() as session:
        deliveries = session.execute(
            sa.select(Delivery.to_code, Delivery.state, Delivery.last_error, Delivery.acked_at.is_not(None))
            .where(Delivery.package_id == doc).order_by(Delivery.to_code)
        ).all()
        events = session.execute(
            sa.select(ExchangeEvent.kind, ExchangeEvent.agency_code, ExchangeEvent.actor, ExchangeEvent.detail)
            .where(ExchangeEvent.package_id == doc, ExchangeEvent.kind.in_(["acked", "fetch_failed"]))
            .order_by(ExchangeEvent.agency_code)
        ).all()
    return [tuple(r) for r in deliveries], [tuple(r) for r in events]


@pytest.mark.parametrize("failed", [False, True])
def test_both_variants_leave_the_same_rows(pg_env: Env, failed: bool) -> None:
    env = pg_env  # the one-statement variant is PostgreSQL's; on SQLite there is only the transaction
    assert is_postgresql(env.gw.engine)
    sender = vxp_system(env, f"ack-a-{failed}", [A])
    docs = [SdkClient.ok(sender.send_edoc(edoc_xml(A, [B, C], f"9{n}{int(failed)}"), A, [B, C]))["DocId"]
            for n in range(2)]
    assert env.deliver() == 4
    variants = [TransportAcks(env.gw.engine), TransportAcks.for_engine(env.gw.engine)]
    assert type(variants[0]) is not type(variants[1])
    error = "unusable" if failed else None
    for doc, acks in zip(docs, variants, strict=True):
        for _ in range(2):  # the second time: already settled, still the caller's
            assert acks.settle(doc, {B}, failed=failed, at=utcnow(), error=error, actor="sdk-b",
                               detail={"channel": "vxp", "peer": False})
        assert not acks.settle(doc, {"000.00.99.H53"}, failed=failed, at=utcnow(), error=error, actor="x",
                               detail={})
    assert _rows(env, docs[0]) == _rows(env, docs[1])
    deliveries, events = _rows(env, docs[0])
    state = "failed" if failed else "acked"
    assert sorted(deliveries) == sorted([(B, state, error, True), (C, "delivered", None, False)])
    assert events == [("fetch_failed" if failed else "acked", B, "sdk-b", {"channel": "vxp", "peer": False})]
