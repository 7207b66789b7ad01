"""The ``edoc`` CLI on a real database: normal output, one-line errors and exit codes."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"EDOC_DATA_DIR": str(tmp_path), "EDOC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_db_upgrade_and_directory(cli_env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(cli_env, "db", "upgrade")
    assert code == 0 and "revision" in out
    assert run(cli_env, "agency", "add", "000.00.00.H53", "Ủy ban nhân dân tỉnh Tây Ninh") == (
        0,
        "000.00.00.H53: added\n",
    )
    csv_file = tmp_path / "agencies.csv"
    csv_file.write_text(
        "code,name,parent\n000.00.11.H53,Sở Thông tin và Truyền thông,000.00.00.H53\n", encoding="utf-8"
    )
    code, out = run(cli_env, "agency", "import", str(csv_file))
    assert code == 0 and "added 1" in out
    json_file = tmp_path / "agencies.json"
    json_file.write_text(json.dumps([{"code": "000.00.11.H53", "name": "Sở TT&TT", "parent": "000.00.00.H53"}]))
    code, out = run(cli_env, "agency", "import", str(json_file))
    assert code == 0 and "changed 1" in out
    code, out = run(cli_env, "agency", "list", "--json")
    assert code == 0
    assert [a["code"] for a in json.loads(out)] == ["000.00.00.H53", "000.00.11.H53"]


def test_client_add_prints_the_key_once(cli_env: dict[str, str]) -> None:
    run(cli_env, "db", "upgrade")
    run(cli_env, "agency", "add", "000.00.11.H53", "Sở TT&TT")
    code, out = run(cli_env, "client", "add", "--name", "dms-stttt", "--agency", "000.00.11.H53", "--role", "dms")
    assert code == 0
    assert any(line.startswith("edk_") for line in out.splitlines())
    code, out = run(cli_env, "client", "add", "--name", "dms-stttt", "--agency", "000.00.11.H53")
    assert code == 1 and out.startswith("error:") and "client_exists" in out


def test_bad_input_is_one_line_and_non_zero(cli_env: dict[str, str], tmp_path: Path) -> None:
    run(cli_env, "db", "upgrade")
    code, out = run(cli_env, "agency", "add", "28.22.H17", "Malformed")
    assert code == 1 and out.count("\n") == 1 and "28.22.H17" in out and "invalid_agency_code" in out
    code, out = run(cli_env, "agency", "import", str(tmp_path / "missing.csv"))
    assert code == 1 and "no such file" in out
    code, out = run(cli_env, "client", "add", "--name", "x", "--agency", "000.00.99.H53", "--role", "boss")
    assert code == 1 and "invalid_role" in out


def test_edxml_validate_and_show(cli_env: dict[str, str], samples_dir: Path, tmp_path: Path) -> None:
    code, out = run(cli_env, "edxml", "show", str(samples_dir / "edoc_new.edxml"), "--json")
    assert code == 0
    view = json.loads(out)
    assert view["fields"]["kind"] == "edoc"
    assert {"malformed_agency_code", "impossible_date"} <= {o["code"] for o in view["oddities"]}
    code, out = run(cli_env, "edxml", "show", str(samples_dir / "status_inbox_01.edxml"))
    assert code == 0 and "01" in out
    code, out = run(cli_env, "edxml", "validate", str(samples_dir / "edoc_new.edxml"))
    assert code == 1 and "problem(s)" in out
    hostile = tmp_path / "xxe.edxml"
    hostile.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><edXML>&e;</edXML>'
    )
    code, out = run(cli_env, "edxml", "show", str(hostile))
    assert code == 1 and out.startswith("error:") and "xml_forbidden_construct" in out
    code, out = run(cli_env, "edxml", "validate", str(tmp_path / "nope.edxml"))
    assert code == 1 and "nope.edxml" in out


def test_edxml_validate_accepts_what_the_gateway_emits(cli_env: dict[str, str], tmp_path: Path) -> None:
    from schemas.edxml import (
        Business,
        BusinessDocType,
        Code,
        DocumentType,
        EdocPackage,
        MessageHeader,
        Organization,
        PromulgationInfo,
        build_edoc,
    )

    pkg = EdocPackage(
        header=MessageHeader(
            from_=Organization(organ_id="000.00.11.H53", organ_name="Sở TT&TT"),
            to=(Organization(organ_id="000.00.12.H53", organ_name="Sở Nội vụ"),),
            document_id="000.00.11.H53,2026/11/20,12/STTTT-VP",
            code=Code(number="12", notation="STTTT-VP"),
            promulgation_info=PromulgationInfo(place="Tây Ninh", date=datetime.date(2026, 11, 20)),
            document_type=DocumentType(type=1, type_name="Công văn"),
            subject="Về việc thử nghiệm",
        ),
        business=Business(doc_type=BusinessDocType.NEW),
    )
    path = tmp_path / "ok.edxml"
    path.write_bytes(build_edoc(pkg))
    code, out = run(cli_env, "edxml", "validate", str(path))
    assert code == 0 and "valid" in out


def test_production_refuses_demo_and_embedded_backends(tmp_path: Path) -> None:
    env = {"EDOC_ENVIRONMENT": "production", "EDOC_DATA_DIR": str(tmp_path)}
    code, out = run(env, "agency", "list")
    assert code == 1 and out.startswith("error: refusing to start in production")
    for needle in ("SQLite", "file object store", "EDOC_SECRET_KEY", "EDOC_NODE_KEY_FILE"):
        assert needle in out
