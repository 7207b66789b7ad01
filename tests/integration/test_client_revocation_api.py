"""Client systems are listed, disabled, enabled and rotated through the admin API (issue 17 item 5), on SQLite and
PostgreSQL; keys are never listed, and a rotated key works for its grace period only."""

from __future__ import annotations

import time

from tests.support.gateway import A, Env


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _new_client(env: Env, name: str) -> tuple[str, str]:
    body = {"name": name, "role": "dms", "agencies": [A]}
    resp = env.http.post("/api/v1/clients", json=body, headers=env.as_("admin"))
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], resp.json()["api_key"]


def test_disable_and_enable_a_client(env: Env) -> None:
    client_id, key = _new_client(env, "dms-leaky")
    admin = env.as_("admin")
    assert env.http.get("/api/v1/agencies", headers=_bearer(key)).status_code == 200
    resp = env.http.post("/api/v1/clients/dms-leaky/disable", headers=admin)
    assert resp.status_code == 200 and resp.json()["active"] is False
    refused = env.http.get("/api/v1/agencies", headers=_bearer(key))
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_api_key"
    assert env.http.post(f"/api/v1/clients/{client_id}/enable", headers=admin).json()["active"] is True
    assert env.http.get("/api/v1/agencies", headers=_bearer(key)).status_code == 200
    kinds = [e["kind"] for e in env.http.get("/api/v1/events", params={"kind": "client_disabled"},
                                             headers=env.as_("auditor")).json()["items"]]
    assert kinds == ["client_disabled"]


def test_only_an_admin_manages_clients_and_not_itself(env: Env) -> None:
    _new_client(env, "dms-other")
    assert env.http.post("/api/v1/clients/dms-other/disable", headers=env.as_("A")).status_code == 403
    assert env.http.post("/api/v1/clients/test-admin/disable", headers=env.as_("admin")).status_code == 409
    assert env.http.post("/api/v1/clients/nobody/rotate", headers=env.as_("admin")).status_code == 404


def test_rotation_keeps_the_old_key_for_the_grace_period_only(env: Env) -> None:
    _client_id, old = _new_client(env, "dms-rotated")
    admin = env.as_("admin")
    resp = env.http.post("/api/v1/clients/dms-rotated/rotate", json={"grace_seconds": 1.5}, headers=admin)
    assert resp.status_code == 200, resp.text
    new = resp.json()["api_key"]
    assert resp.json()["previous_valid_until"] is not None
    assert env.http.get("/api/v1/agencies", headers=_bearer(new)).status_code == 200
    assert env.http.get("/api/v1/agencies", headers=_bearer(old)).status_code == 200
    listed = env.http.get("/api/v1/clients", headers=admin)
    assert old not in listed.text and new not in listed.text
    (item,) = [c for c in listed.json()["items"] if c["name"] == "dms-rotated"]
    assert [k["prefix"] for k in item["api_keys"]] == [old[:10], new[:10]]
    time.sleep(1.6)
    env.gw.callers.clear()  # the process cache (EDOC_AUTH_CACHE_SECONDS) is not what is tested here
    assert env.http.get("/api/v1/agencies", headers=_bearer(old)).status_code == 401
    assert env.http.get("/api/v1/agencies", headers=_bearer(new)).status_code == 200


def test_rotation_without_grace_ends_the_old_key_at_once(env: Env) -> None:
    _client_id, old = _new_client(env, "dms-leaked")
    assert env.http.get("/api/v1/agencies", headers=_bearer(old)).status_code == 200  # now in the process cache
    resp = env.http.post("/api/v1/clients/dms-leaked/rotate", json={"grace_seconds": 0}, headers=env.as_("admin"))
    assert resp.json()["previous_valid_until"] is None
    assert env.http.get("/api/v1/agencies", headers=_bearer(old)).status_code == 401
    assert env.http.get("/api/v1/agencies", headers=_bearer(resp.json()["api_key"])).status_code == 200


def test_a_vxp_secret_cannot_be_rotated_without_a_vxp_system_id(env: Env) -> None:
    _new_client(env, "dms-native-only")
    resp = env.http.post(
        "/api/v1/clients/dms-native-only/rotate", json={"credential": "vxp_secret"}, headers=env.as_("admin")
    )
    assert resp.status_code == 409 and resp.json()["code"] == "no_vxp_secret"
