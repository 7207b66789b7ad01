"""``EDOC_ARCHIVE_URLS`` (docs/configuration.md): the object stores of the archive copies, checked at start-up.

Read as a JSON array or a comma/space separated list; each URL must name a known backend and be well formed
(one-line errors, credentials never echoed); two entries on the same endpoint and bucket are refused; production
needs two, each on a store that enforces a retention (S3 Object Lock), so never ``file://``.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from service.settings import ConfigError, Settings

A1 = "s3://edoc-archive-a?endpoint=minio-a:9000"
A2 = "s3://edoc-archive-b?endpoint=minio-b:9000"


def _production(**values: Any) -> Settings:
    return Settings(environment="production", secret_key="x" * 40, database_url="postgresql+psycopg://db/edoc",
                    storage_url="s3://edoc?endpoint=minio:9000", node_key_file="/keys/node.p12",
                    log_key_file="/keys/log-ed25519.pem", bus_url="amqp://edoc@rabbitmq:5672/", **values)


@pytest.mark.parametrize("raw", [f'["{A1}", "{A2}"]', f"{A1},{A2}", f"{A1} {A2}", f" {A1} ,\n {A2} "])
def test_read_from_the_environment_as_json_or_a_list(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("EDOC_ARCHIVE_URLS", raw)
    assert Settings().archive_urls == (A1, A2)


def test_empty_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDOC_ARCHIVE_URLS", raising=False)
    assert Settings().archive_urls == ()


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        (["ftp://x/y"], "archive store 1: unknown object store URL scheme 'ftp'"),
        ([A1, "s3://edoc?endpoint=h:1&colour=red"], "archive store 2: unknown s3 URL option 'colour'"),
        ([A1, "s3://edoc-archive-a/other-prefix?endpoint=MINIO-A:9000"], "archive stores 1 and 2 are the same"),
        (["s3://key:topsecret@Bad_Name?endpoint=h:1"], "valid bucket name"),
    ],
)
def test_a_bad_list_is_refused_in_one_line_without_secrets(urls: list[str], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        Settings(archive_urls=urls)
    error = info.value.errors()[0]
    assert error["loc"] == ("archive_urls",) and "\n" not in error["msg"]
    assert "topsecret" not in error["msg"]  # the message edoc prints (service/cli_output.load_settings)


def test_the_same_bucket_on_two_endpoints_is_two_places() -> None:
    assert Settings(archive_urls=["s3://edoc?endpoint=a:9000", "s3://edoc?endpoint=b:9000"]).archive_urls


def test_production_requires_two_copies() -> None:
    for urls in ([], [A1]):
        with pytest.raises(ConfigError, match="EDOC_ARCHIVE_URLS must name two object stores"):
            _production(archive_urls=urls).check_production()
    _production(archive_urls=[A1, A2]).check_production()


def test_production_refuses_a_file_store_for_the_archive(tmp_path: Any) -> None:
    settings = _production(archive_urls=[A1, (tmp_path / "copy2").as_uri()])
    with pytest.raises(ConfigError, match=r"archive store 2 .* cannot enforce a retention"):
        settings.check_production()
    assert not (tmp_path / "copy2").exists()  # validated, not created


def test_development_accepts_a_file_store_for_the_archive(tmp_path: Any) -> None:
    Settings(archive_urls=[(tmp_path / "a").as_uri(), (tmp_path / "b").as_uri()]).check_production()
