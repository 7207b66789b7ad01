"""Which remote ErrorCodes make a push dead at once (service/vxp/uplink.py ``refused_for_good``)."""

from __future__ import annotations

import pytest

from service.vxp.uplink import refused_for_good


@pytest.mark.parametrize(
    "code",
    ["VXP-400-MALFORMED-XML", "VXP-400-HASH-MISMATCH", "VXP-403-NOT-YOUR-AGENCY", "VXP-409-IDEMPOTENCY-CONFLICT",
     "VXP-413-TOO-LARGE", "VXP-422-UNKNOWN-RECIPIENT"],
)
def test_the_package_is_refused_for_good(code: str) -> None:
    assert refused_for_good(code)


@pytest.mark.parametrize(
    "code",
    ["VXP-401-BAD-SIGNATURE", "VXP-401-STALE-TIMESTAMP", "VXP-404-NO-OPERATION", "VXP-405-METHOD", "VXP-429-BUSY",
     "VXP-500-INTERNAL", "VXP-503-X", "VXP-REMOTE-FAIL", "FAIL", "-1", "400", "vxp-400-x", "VXP-4000-X", ""],
)
def test_this_node_or_an_unknown_code_is_retried(code: str) -> None:
    assert not refused_for_good(code)
