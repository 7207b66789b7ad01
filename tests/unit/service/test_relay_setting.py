"""``EDOC_RELAY_POLICY`` (README configuration table): tolerant by default, strict on request, nothing else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_the_relay_policy_is_tolerant_by_default_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EDOC_RELAY_POLICY", raising=False)
    assert Settings().relay_policy == "tolerant"
    monkeypatch.setenv("EDOC_RELAY_POLICY", "strict")
    assert Settings().relay_policy == "strict"
    monkeypatch.setenv("EDOC_RELAY_POLICY", "lenient")
    with pytest.raises(ValidationError, match="relay_policy"):
        Settings()
