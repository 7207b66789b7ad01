"""A VXP client that resends a status package (its answer was lost: a timeout, a peer node's push after a crash)
gets the first DocId back, as for a document, instead of an illegal-transition refusal; a *new* status that repeats
one already reported is still refused."""

from __future__ import annotations

import time

from schemas.edxml import parse_package
from tests.integration.test_vxp_sdk_flow import vxp_system
from tests.support.gateway import A, B, Env
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml, status_xml


def test_a_resent_status_is_the_same_status(env: Env) -> None:
    sdk_a, sdk_b = vxp_system(env, "sdk-a", [A]), vxp_system(env, "sdk-b", [B])
    doc = SdkClient.ok(sdk_a.send_edoc(edoc_xml(A, [B], "31"), A, [B]))["DocId"]
    env.deliver()
    document_id = str(parse_package(sdk_b.get_edoc(doc)).edoc.header.document_id)  # type: ignore[union-attr]
    SdkClient.ok(sdk_b.update_status(doc, "done"))

    status = status_xml(B, document_id, "01")
    first = SdkClient.ok(sdk_b.send_edoc(status, B, [A], messagetype="status"))["DocId"]
    again = sdk_b.send_edoc(status, B, [A], messagetype="status")
    assert (again["status"], again["DocId"]) == ("OK", first), again
    env.deliver()
    assert [r["docId"] for r in sdk_a.received("status")] == [first]

    time.sleep(1.1)  # a new 01 (its own timestamp, so other bytes) is a new status, and 01 cannot follow 01
    other = sdk_b.send_edoc(status_xml(B, document_id, "01"), B, [A], messagetype="status")
    assert other["status"] == "FAIL" and other["ErrorCode"].endswith("-STATUS-TRANSITION"), other
