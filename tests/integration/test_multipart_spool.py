"""Multipart submits: files above the in-memory threshold are spooled to a temporary folder made for that request
only, streamed into the package, and the folder is gone afterwards; submits of small files make no folder at all."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from service.api import edocs
from tests.support.exchange import header, submit
from tests.support.gateway import A, B, Env


def _spools() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("edoc-upload-*"))


def test_large_files_are_spooled_and_the_folder_removed(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(edocs, "LARGE_FILE", 50_000)  # spool anything over 50 KB (the default is 8 MB)
    files = [("a.pdf", b"%PDF-1.7\n" + os.urandom(120_000)), ("b.pdf", b"%PDF-1.7\n" + os.urandom(80_000)),
             ("c.pdf", b"%PDF-1.7\n" + os.urandom(1_000))]
    before = _spools()
    resp = submit(env, "A", header(A, [B]), files=files)
    assert resp.status_code == 202, resp.text
    package_id = resp.json()["id"]
    assert _spools() == before
    for n, (_name, data) in enumerate(files):
        got = env.http.get(f"/api/v1/edocs/{package_id}/attachments/{n}", headers=env.as_("A"))
        assert got.status_code == 200, got.text
        assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(data).hexdigest()


def test_small_files_make_no_spool_folder(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = tempfile.TemporaryDirectory

    def spy(*args: Any, **kwargs: Any) -> tempfile.TemporaryDirectory[str]:
        made.append(str(kwargs.get("prefix")))
        return real(*args, **kwargs)

    monkeypatch.setattr(edocs.tempfile, "TemporaryDirectory", spy)
    resp = submit(env, "A", header(A, [B]))
    assert resp.status_code == 202, resp.text
    assert "edoc-upload-" not in made
