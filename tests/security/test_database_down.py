"""Issue 17 item 4: the database goes away while the gateway runs.

A private PostgreSQL cluster (initdb/pg_ctl of the machine's PostgreSQL, on its own port, as the ``postgres`` user
when the tests run as root) serves a real ``edoc serve``; a document is exchanged; then the cluster is stopped.
Submit, inbox, edxml, ack and a VXP call must answer 503 with ``Retry-After`` and a stable code (problem+json;
the VXP FAIL envelope ``VXP-503-DATABASE-UNAVAILABLE``), ``/readyz`` must name the database without its address,
and everything must work again once the cluster is back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.exchange import header
from tests.support.pdfs import simple_pdf
from tests.support.pgcluster import Cluster, private_cluster
from tests.support.server import GatewayProcess

A, B = "000.00.11.H53", "000.00.12.H53"  # the demo's Sở TT&TT and Sở Nội vụ


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster() as pg:
        yield pg


def _unavailable(resp: httpx.Response) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.text)
    assert int(resp.headers["retry-after"]) > 0
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    assert resp.json()["code"] == "database_unavailable"


def test_database_away_answers_503_and_comes_back(cluster: Cluster, tmp_path: Path) -> None:
    data = tmp_path / "gw"
    data.mkdir()
    gw = GatewayProcess(data, database_url=cluster.url, auth_cache_seconds="0", directory_cache_seconds="0")
    gw.start("--demo")
    try:
        keys = {c["name"]: c["api_key"] for c in json.loads((data / "demo-keys.json").read_text())["clients"]}
        a = {"Authorization": f"Bearer {keys['demo-dms-sotttt']}"}
        b = {"Authorization": f"Bearer {keys['demo-dms-sonv']}"}
        with httpx.Client(base_url=gw.base, timeout=30) as http:
            def submit() -> httpx.Response:
                return http.post("/api/v1/edocs", headers=a, data={"header": json.dumps(header(A, [B]))},
                                 files=[("files", ("cv.pdf", simple_pdf(1), "application/pdf"))])

            assert submit().status_code == 202
            doc_id = _first_in_inbox(http, b)

            cluster.stop()
            _unavailable(submit())
            _unavailable(http.get("/api/v1/inbox", headers=b))
            _unavailable(http.get(f"/api/v1/edocs/{doc_id}/edxml", headers=b))
            _unavailable(http.post(f"/api/v1/edocs/{doc_id}/ack", headers=b))
            vxp = http.post("/vxp/getReceivedEdocList", headers={
                "XroadVnpt-systemid": "vxp.any", "XroadVnpt-timestamp": "x", "XroadVnpt-sign-header-key": "systemid",
                "XroadVnpt-sign-header": "{}", "XroadVnpt-hash-header": "00"})
            assert vxp.status_code == 503 and int(vxp.headers["retry-after"]) > 0
            assert vxp.json()["ErrorCode"] == "VXP-503-DATABASE-UNAVAILABLE", vxp.text
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {"database": "fail: database_unavailable", "objects": "ok"}
            assert str(cluster.port) not in ready.text and "127.0.0.1" not in ready.text

            cluster.start()
            back = time.monotonic()
            while http.get(f"/api/v1/edocs/{doc_id}/edxml", headers=b).status_code != 200:
                assert time.monotonic() - back < 40, "the gateway did not recover within 40 s"
                time.sleep(0.3)
            print(f"recovered {time.monotonic() - back:.1f} s after the database came back")
            assert http.get("/readyz").status_code == 200
            assert http.post(f"/api/v1/edocs/{doc_id}/ack", headers=b).status_code == 200
    finally:
        gw.stop()


def _first_in_inbox(http: httpx.Client, headers: dict[str, str]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = http.get("/api/v1/inbox", headers=headers).json()["items"]
        if items:
            return str(items[0]["id"])
        time.sleep(0.2)
    raise AssertionError("the document never reached the recipient's inbox")
