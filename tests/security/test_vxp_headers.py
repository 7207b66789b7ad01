"""Issue 17 item 2: a ``sign-header`` of 100,000 ``[`` under a known system id was a 500 (RecursionError) before
authentication; every JSON header the VXP layer parses is now bounded in size and nesting before it is parsed."""

from __future__ import annotations

import pytest

from service.vxp.auth import VxpAuthenticator
from service.vxp.errors import VxpError
from service.vxp.protocol import parse_header_json
from tests.unit.vxp.vxp_testkit import SECRETS, SENDER, SENDER_SECRET, Clock, sign, vn_timestamp


@pytest.mark.parametrize("sign_header", ["[" * 100_000, "[" * 5_000, '{"XroadVnpt-systemid": [[["x"]]]}'])
def test_hostile_sign_header_is_a_malformed_refusal(sign_header: str) -> None:
    clock = Clock()
    values = {"systemid": SENDER, "timestamp": vn_timestamp(clock()), "Content-Type": "application/json"}
    headers = sign(values, SENDER_SECRET)
    headers["XroadVnpt-sign-header"] = sign_header
    auth = VxpAuthenticator(lookup_secret=SECRETS.get, clock=clock, replay_guard=None)
    with pytest.raises(VxpError) as refused:
        auth.authenticate(headers)
    assert refused.value.code == "VXP-401-MALFORMED-SIGN-HEADER"


def test_parse_header_json_bounds() -> None:
    assert parse_header_json('["000.00.12.H53"]', max_depth=1) == ["000.00.12.H53"]
    for raw in ("[" * 100_000, '[["x"]]', '"' + "x" * 40_000 + '"'):
        with pytest.raises(ValueError):
            parse_header_json(raw, max_depth=1)
