"""A routing change made through one process reaches the others: two ``edoc serve`` processes on one database,
the second run as the compose tier runs its API replicas (``EDOC_EMBEDDED_WORKER=false``: no worker, no uplink
poller). The PUT goes to the first; the next submits go to the second.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from service.exchange.directory import create_client
from service.wiring import build_gateway
from tests.support.exchange import header
from tests.support.gateway import A, C, make_settings, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import GatewayProcess, free_port
from tests.unit.vxp.federation_kit import NODE1, sql, wait_for

pytestmark = pytest.mark.slow


def test_other_processes_route_by_the_new_rules(empty_database_url: str, tmp_path: Path) -> None:
    keys = provision(empty_database_url, tmp_path, prefix="routes", clients=(("A", A),))
    gw = build_gateway(make_settings(empty_database_url, tmp_path))
    with gw.writes() as session, session.begin():
        keys["admin"] = create_client(session, name="routes-admin", role="admin", agencies=[])[1]
    gw.close()
    uplinks = json.dumps({"node2": {"endpoint": f"http://127.0.0.1:{free_port()}/vxp", "systemid": "vxp.h53",
                                    "secret": "s", "poll_seconds": 1}})
    common = {"node_id": NODE1, "uplinks": uplinks, "retry_schedule": "[60]"}
    first = GatewayProcess(tmp_path, database_url=empty_database_url, **common).start()
    api = GatewayProcess(tmp_path, database_url=empty_database_url, embedded_worker="false", **common)
    try:
        api.start()
        with httpx.Client(base_url=first.base, timeout=30) as h1, httpx.Client(base_url=api.base, timeout=30) as h2:

            def route_of_c(number: str) -> str:
                resp = h2.post("/api/v1/edocs", headers={"Authorization": f"Bearer {keys['A']}"},
                               data={"header": json.dumps(header(A, [C], number=number), ensure_ascii=False)},
                               files=[("files", ("cv.pdf", simple_pdf(1), "application/pdf"))])
                assert resp.status_code == 202, resp.text
                rows = sql(empty_database_url, "select route from delivery where package_id = :p", p=resp.json()["id"])
                return str(rows[0][0])

            assert route_of_c("1") == "local"
            resp = h1.put("/api/v1/routes", headers={"Authorization": f"Bearer {keys['admin']}"},
                          json={"rules": [{"pattern": "*.G22", "target": "node2"}]})
            assert resp.status_code == 200, resp.text
            numbers = iter(range(2, 100))
            assert wait_for(lambda: route_of_c(str(next(numbers))) == "node2", timeout=10, interval=0.5)
    finally:
        api.stop()
        first.stop()
