"""The production roles of docker-compose.yml (profile ``prod``) as local processes, in production mode: the
migrate job, an API (``edoc serve`` without an embedded worker) and a separate ``edoc worker``, on a fresh
PostgreSQL database, the local RabbitMQ (``amqp://``) and the local S3 server (objects + two archive buckets with
Object Lock), with the keys of ``edoc keys init``. The environment is the compose file's, with the addresses of
the local servers in place of the containers' (issue 22 item 5). Production also refuses to start, in one line,
without the PostgreSQL, RabbitMQ or S3 settings."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from tests.e2e.test_compose_roles import COMPOSE, PROD_SECRETS, _prod_env
from tests.support.gateway import A, B
from tests.support.rabbitmq import _ctl
from tests.support.server import EDOC, ROOT, free_port, wait_ready

pytestmark = pytest.mark.slow


def _bucket(url: str) -> str:
    return url.removeprefix("s3://").split("@")[-1].split("?")[0]


def production_env(database_url: str, amqp_url: str, s3: Any, tmp_path: Path) -> dict[str, str]:
    """The compose file's production environment for ``api-prod``, with the local servers in place of the
    containers' and the keys of a real ``edoc keys init``."""
    keys = tmp_path / "keys"
    base = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
    done = subprocess.run(
        [str(EDOC), "keys", "init", "--out", str(keys), "--node-id", "000.00.00.H53"],
        env=base, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    key_env = dict(line.split("=", 1) for line in (keys / "node.env").read_text().splitlines() if "=" in line)
    local = f"?endpoint={s3.endpoint}&secure=0&region=us-east-1"
    objects = _bucket(s3.new_bucket_url())
    archives = [_bucket(s3.new_bucket_url(object_lock=True)) for _ in range(2)]
    compose = yaml.safe_load(COMPOSE.read_text())
    env = {**base, **_prod_env(compose, "api-prod", {**PROD_SECRETS, **key_env})}
    env.pop("EDOC_EMBEDDED_WORKER")
    sep = "&" if "?" in amqp_url else "?"
    env.update(
        {  # the compose file's names for the containers, replaced by the local servers
            "EDOC_DATABASE_URL": database_url,
            "EDOC_BUS_URL": f"{amqp_url}{sep}prefix=prod{uuid.uuid4().hex[:8]}",
            "EDOC_STORAGE_URL": f"s3://{objects}{local}",
            "EDOC_ARCHIVE_URLS": ",".join(f"s3://{b}{local}" for b in archives),
            "EDOC_S3_ACCESS_KEY": s3.access_key,
            "EDOC_S3_SECRET_KEY": s3.secret_key,
            "EDOC_NODE_KEY_FILE": str(keys / "node.p12"),
            "EDOC_LOG_KEY_FILE": str(keys / "log-ed25519.pem"),
            "EDOC_DATA_DIR": str(tmp_path / "data"),
            "EDOC_WORKER_POLL_SECONDS": "0.05",
        }
    )
    env.pop("PGPASSWORD")  # the local PostgreSQL trusts the test user
    assert env["EDOC_ENVIRONMENT"] == "production"
    return env


@pytest.fixture
def prod_env(_pg_function_db: str, amqp_url: str, s3_server: Any, tmp_path: Path) -> dict[str, str]:
    return production_env(_pg_function_db, amqp_url, s3_server, tmp_path)


def _role(compose: dict, role: str, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    command = [str(EDOC), *compose["services"][role]["command"][1:], *extra]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _edoc(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(EDOC), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_production_roles_deliver_through_rabbitmq(prod_env: dict[str, str]) -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    migrate = _role(compose, "migrate-prod", prod_env)
    assert migrate.wait(timeout=120) == 0, migrate.stdout.read().decode() if migrate.stdout else ""
    _edoc(prod_env, "agency", "add", A, "Sở TT&TT")
    _edoc(prod_env, "agency", "add", B, "Sở Nội vụ")
    keys = {}
    for who, code in (("A", A), ("B", B)):
        out = _edoc(prod_env, "client", "add", "--name", f"prod-{who}", "--agency", code)
        keys[who] = next(line for line in out.splitlines() if line.startswith("edk_"))
    port = free_port()
    api = _role(compose, "api-prod", {**prod_env, "EDOC_EMBEDDED_WORKER": "false"}, "--port", str(port))
    worker = _role(compose, "worker-prod", prod_env)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_ready(base, proc=api, timeout=90), "the production API did not become ready"
        header = {"from": A, "to": [B], "code": {"number": "9", "notation": "PROD"}, "subject": "Kiểm tra"}
        resp = httpx.post(
            f"{base}/api/v1/edocs",
            data={"header": json.dumps(header)},
            files=[("files", ("a.pdf", b"%PDF-1.4 x", "application/pdf"))],
            headers={"Authorization": f"Bearer {keys['A']}"},
            timeout=30,
        )
        assert resp.status_code == 202, resp.text
        package = resp.json()["id"]
        auth_b = {"Authorization": f"Bearer {keys['B']}"}
        items: list[dict] = []
        deadline = time.monotonic() + 60
        while not items and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
            items = httpx.get(f"{base}/api/v1/inbox", headers=auth_b, timeout=10).json()["items"]
            time.sleep(0.1)
        assert [i["id"] for i in items] == [package]
        ack = httpx.post(f"{base}/api/v1/edocs/{package}/ack", headers=auth_b, timeout=10)
        assert ack.status_code in (200, 204), ack.text
        sent = httpx.get(f"{base}/api/v1/edocs/{package}", headers={"Authorization": f"Bearer {keys['A']}"})
        assert sent.status_code == 200, sent.text
        assert [d["state"] for d in sent.json()["deliveries"]] == ["acked"], sent.text
        vhost = urlsplit(prod_env["EDOC_BUS_URL"]).path.lstrip("/")
        prefix = parse_qs(urlsplit(prod_env["EDOC_BUS_URL"]).query)["prefix"][0]
        queues = _ctl("list_queues", "-q", "-p", vhost, "name", "messages").split("\n")
        ours = [line.split() for line in queues if line.startswith(prefix)]
        assert ours and all(count == "0" for _, count in ours), queues  # the work went through RabbitMQ, all acked
    finally:
        for proc in (api, worker):
            proc.terminate()
        for proc in (api, worker):
            assert proc.wait(timeout=30) is not None


@pytest.mark.parametrize(
    ("missing", "says"),
    [
        ("EDOC_DATABASE_URL", "EDOC_DATABASE_URL to PostgreSQL"),
        ("EDOC_BUS_URL", "EDOC_BUS_URL to amqp://"),
        ("EDOC_STORAGE_URL", "EDOC_STORAGE_URL to s3://"),
    ],
)
def test_production_refuses_to_start_without_its_servers(prod_env: dict[str, str], missing: str, says: str) -> None:
    env = {k: v for k, v in prod_env.items() if k != missing}
    done = subprocess.run(
        [str(EDOC), "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to start in production") and says in lines[0]
