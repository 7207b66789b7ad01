"""Whether a real external component is available, and what to do when it is not.

On CI (``CI`` set) a missing component fails the test: CI must exercise every real backend. On a developer's
machine the test is skipped with a reason that says what to install or start.
"""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["on_ci", "require", "require_executable"]


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require(available: bool, reason: str) -> None:
    """Skip (locally) or fail (on CI) unless ``available``."""
    if available:
        return
    if on_ci():
        pytest.fail(f"required on CI: {reason}")
    pytest.skip(reason)


def require_executable(name: str, hint: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} not found: {hint}")
    assert path is not None
    return path
