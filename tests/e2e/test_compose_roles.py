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


PROD_ROLES = ("migrate-prod", "api-prod", "worker-prod")
SECRET_NAME = re.compile(r"(PASSWORD|PASS|SECRET|SECRET_KEY|ACCESS_KEY)$")


def _prod_env(compose: dict, service: str, given: dict[str, str]) -> dict[str, str]:
    """The environment a production role gets: the file's ``environment`` plus its env files' variables (named in
    ``x-secret-variables``), with stand-in values for the secrets."""
    env = _service_env(compose, service, given)
    declared = compose["x-secret-variables"]
    for env_file in compose["services"][service]["env_file"]:
        for name in declared[env_file]:
            env.setdefault(name, given[name])
    return env


PROD_SECRETS = {
    "EDOC_SECRET_KEY": "s" * 40,
    "PGPASSWORD": "pg-stand-in",
    "EDOC_BUS_URL": "amqp://edoc:stand-in@rabbitmq:5672/",
    "EDOC_S3_ACCESS_KEY": "access-stand-in",
    "EDOC_S3_SECRET_KEY": "secret-stand-in",
    "EDOC_NODE_KEY_PASSWORD": "p12-stand-in",
}


def test_production_profile_is_wired(compose: dict) -> None:
    services = compose["services"]
    assert {"db", "rabbitmq", "minio", "minio-init", *PROD_ROLES} <= set(services)
    prod = {n for n, s in services.items() if "prod" in s.get("profiles", [])}
    dev = {n for n, s in services.items() if "dev" in s.get("profiles", [])}
    assert {"postgres", "migrate", "api", "worker"} <= dev and not dev & prod
    assert all(s.get("profiles") for s in services.values()), "a service without a profile runs in both tiers"
    for role in PROD_ROLES:
        env = _prod_env(compose, role, PROD_SECRETS)
        fields = {k.removeprefix("EDOC_").lower(): v for k, v in env.items() if k.startswith("EDOC_")}
        assert {"s3_access_key", "s3_secret_key"} <= set(fields)  # read by storage/objects/s3.py, not Settings
        fields = {k: v for k, v in fields.items() if not k.startswith("s3_")}
        assert set(fields) <= set(Settings.model_fields), f"{role} sets unknown settings"
        settings = Settings(**fields)
        settings.check_production()  # every variable production requires is set for this role
        assert settings.bus_url.startswith("amqp://") and settings.resolved_storage_url().startswith("s3://")
        assert "@db:5432/" in settings.resolved_database_url()
        assert services[role]["command"][0] == "edoc"
        assert "./keys:/run/keys:ro" in services[role]["volumes"]
        key_dir = "/run/keys/"
        assert str(settings.node_key_file).startswith(key_dir) and str(settings.log_key_file).startswith(key_dir)
    assert _service_env(compose, "api-prod", {})["EDOC_EMBEDDED_WORKER"] == "false"
    assert services["migrate-prod"]["command"] == ["edoc", "db", "upgrade"]
    assert services["worker-prod"]["command"] == ["edoc", "worker"]
    for role in ("api-prod", "worker-prod"):
        needs = services[role]["depends_on"]
        assert needs["migrate-prod"]["condition"] == "service_completed_successfully"
        assert needs["minio-init"]["condition"] == "service_completed_successfully"
        assert needs["rabbitmq"]["condition"] == "service_healthy"
        assert services[role]["deploy"]["replicas"] >= 2
    assert services["migrate-prod"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("db", "rabbitmq", "minio", "api-prod", "worker-prod"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    archive = Settings(**{"archive_urls": _service_env(compose, "api-prod", {})["EDOC_ARCHIVE_URLS"]}).archive_urls
    init = services["minio-init"]["command"][0]
    for url in archive:
        bucket = url.removeprefix("s3://").split("?")[0]
        assert f"--with-lock edoc/{bucket}" in init, f"archive bucket {bucket} is not made with Object Lock"


def test_no_secret_value_in_the_production_profile(compose: dict) -> None:
    for name, service in compose["services"].items():
        if "prod" not in service.get("profiles", []):
            continue
        for key, value in (service.get("environment") or {}).items():
            assert not SECRET_NAME.search(key), f"{name}: {key} belongs in an env file, not in docker-compose.yml"
            assert not re.search(r"://[^/@\s]*:[^/@\s]*@", str(value)), f"{name}: {key} carries a password"
    text = COMPOSE.read_text()
    for stand_in in PROD_SECRETS.values():
        assert stand_in not in text
