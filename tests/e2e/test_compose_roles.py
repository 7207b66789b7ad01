"""docker-compose.yml is valid and its roles work: the same commands and settings it wires (migrate, API replicas
without an embedded worker, a separate worker) run here as local processes on the local PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from service.settings import Settings
from signing.demo import create_demo_pkcs12
from tests.support.gateway import A, B
from tests.support.server import EDOC, ROOT, free_port, wait_ready

pytestmark = pytest.mark.slow
COMPOSE = ROOT / "docker-compose.yml"


def _substitute(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if name in env and env[name] != "":
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, value)


def _service_env(compose: dict, service: str, given: dict[str, str]) -> dict[str, str]:
    raw = compose["services"][service].get("environment", {})
    return {k: _substitute(str(v), given) for k, v in raw.items()}


@pytest.fixture(scope="module")
def compose() -> dict:
    data: dict = yaml.safe_load(COMPOSE.read_text())
    return data


def test_compose_file_is_consistent(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "migrate", "api", "worker"} <= set(services)
    given = {"EDOC_SECRET_KEY": "x" * 40}
    with pytest.raises(KeyError, match="EDOC_SECRET_KEY"):
        _service_env(compose, "api", {})
    for name in ("migrate", "api", "worker"):
        env = _service_env(compose, name, given)
        fields = {k.removeprefix("EDOC_").lower(): v for k, v in env.items()}
        assert set(fields) <= set(Settings.model_fields), f"{name} sets unknown settings"
        assert services[name]["command"][0] == "edoc"
        url = env["EDOC_DATABASE_URL"]
        pg = services["postgres"]["environment"]
        assert "@postgres:5432/" + pg["POSTGRES_DB"] in url and url.split("//")[1].startswith(pg["POSTGRES_USER"])
    assert _service_env(compose, "api", given)["EDOC_EMBEDDED_WORKER"] == "false"
    assert services["migrate"]["build"]["dockerfile"] == "service/Dockerfile"
    assert (ROOT / "service" / "Dockerfile").is_file()


def _run_role(compose: dict, role: str, overrides: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
    env.update(_service_env(compose, role, {"EDOC_SECRET_KEY": "k" * 40}))
    env.update(overrides)
    command = [str(EDOC), *compose["services"][role]["command"][1:], *extra]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_roles_run_on_postgresql(compose: dict, postgres_url: str, tmp_path: Path) -> None:
    key = tmp_path / "node.p12"
    create_demo_pkcs12(key, common_name="compose test node", organization="edoc-gateway", password=None)
    overrides = {
        "EDOC_DATABASE_URL": postgres_url,
        "EDOC_STORAGE_URL": (tmp_path / "objects").as_uri(),
        "EDOC_DATA_DIR": str(tmp_path),
        "EDOC_NODE_KEY_FILE": str(key),
        "EDOC_NODE_KEY_PASSWORD": "",
        "EDOC_WORKER_POLL_SECONDS": "0.05",
    }
    migrate = _run_role(compose, "migrate", overrides)
    assert migrate.wait(timeout=60) == 0, migrate.stdout.read().decode() if migrate.stdout else ""
    cli_env = {**{k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}, **overrides}
    for args in (["agency", "add", A, "Sở TT&TT"], ["agency", "add", B, "Sở Nội vụ"]):
        subprocess.run([str(EDOC), *args], env=cli_env, check=True, capture_output=True)
    keys = {}
    for who, code in (("A", A), ("B", B)):
        out = subprocess.run(
            [str(EDOC), "client", "add", "--name", f"compose-{who}", "--agency", code],
            env=cli_env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        keys[who] = next(line for line in out.splitlines() if line.startswith("edk_"))

    ports = [free_port(), free_port()]
    apis = [_run_role(compose, "api", overrides, "--port", str(p)) for p in ports]  # two API replicas
    worker = None
    try:
        for port in ports:
            assert wait_ready(f"http://127.0.0.1:{port}", proc=apis[ports.index(port)]), f"API on {port} not ready"
        header = {"from": A, "to": [B], "code": {"number": "7", "notation": "COMPOSE"}, "subject": "Kiểm tra"}
        resp = httpx.post(
            f"http://127.0.0.1:{ports[0]}/api/v1/edocs",
            data={"header": json.dumps(header)},
            files=[("files", ("a.pdf", b"%PDF-1.4 x", "application/pdf"))],
            headers={"Authorization": f"Bearer {keys['A']}"},
        )
        assert resp.status_code == 202, resp.text
        time.sleep(0.5)
        inbox = f"http://127.0.0.1:{ports[1]}/api/v1/inbox"
        auth = {"Authorization": f"Bearer {keys['B']}"}
        assert httpx.get(inbox, headers=auth).json()["items"] == []  # API replicas do not deliver
        worker = _run_role(compose, "worker", overrides)
        deadline = time.monotonic() + 30
        items: list[dict] = []
        while not items and time.monotonic() < deadline:
            items = httpx.get(inbox, headers=auth).json()["items"]
            time.sleep(0.1)
        assert [i["id"] for i in items] == [resp.json()["id"]]
    finally:
        for proc in [*apis, *([worker] if worker else [])]:
            proc.terminate()
            proc.wait(timeout=20)
