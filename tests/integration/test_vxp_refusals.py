"""What the VXP facade refuses, with which stable ErrorCode, and that each refusal is in the exchange log.

Runs against a real gateway on SQLite and PostgreSQL (the replay guard is the database's ``replay_nonce``).
Calls are signed by the independent §8 client (tests/unit/vxp/sdk_client.py), then altered the way an attacker,
a broken proxy or a wrong configuration would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from service.exchange.directory import create_client, set_vxp_secret
from service.vxp.systems import DatabaseReplayGuard
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import ClientSystem, ExchangeEvent, ReplayNonce
from tests.integration.test_vxp_sdk_flow import vxp_system
from tests.support.gateway import A, B, Env
from tests.unit.vxp.sdk_client import SdkClient, edoc_xml, sdk_hash_file

LIST = {"servicetype": "eDoc", "messagetype": "edoc"}


def send_headers(client: SdkClient, body: bytes, frm: str = A, **changes: str) -> dict[str, str]:
    params = {"from": frm, "to": "[]", "servicetype": "eDoc", "messagetype": "edoc", "hash-file": sdk_hash_file(body)}
    return client.headers({**params, **changes}, "application/octet-stream")


def refused(answer: dict, code: str, http: int) -> None:
    assert (answer["status"], answer["ErrorCode"], answer["_http"]) == ("FAIL", code, http), answer
    assert answer["ErrorDesc"]


def logged_codes(env: Env) -> list[str]:
    with env.gw.sessions() as session:
        rows = session.execute(sa.select(ExchangeEvent).where(ExchangeEvent.kind == "vxp_refused")).scalars()
        return [e.detail["code"] for e in rows]


@pytest.fixture
def sdk(env: Env) -> SdkClient:
    return vxp_system(env, "sdk-a", [A])


def case_wrong_hmac(env: Env, sdk: SdkClient) -> dict:
    return SdkClient(env.http, sdk.systemid, "not-the-secret").call("getReceivedEdocList", LIST)


def case_stale_timestamp(env: Env, sdk: SdkClient) -> dict:
    old = SdkClient(env.http, sdk.systemid, sdk.secret)
    old.skew = -timedelta(seconds=env.gw.settings.vxp_timestamp_window_seconds + 60)
    return old.call("getReceivedEdocList", LIST)


def case_missing_signed_header(env: Env, sdk: SdkClient) -> dict:
    headers = sdk.headers(LIST, "application/json")
    del headers["XroadVnpt-messagetype"]  # named in sign-header-key, signed, but not sent
    return sdk.send_raw("getReceivedEdocList", headers)


def case_unknown_systemid(env: Env, sdk: SdkClient) -> dict:
    return SdkClient(env.http, "vxp.nobody", sdk.secret).call("getReceivedEdocList", LIST)


def case_from_not_owned(env: Env, sdk: SdkClient) -> dict:
    body = edoc_xml(B, [A], "21")  # a package of B, sent by A's system
    return sdk.send_raw("sendEdoc", send_headers(sdk, body, frm=B), body)


def case_body_not_edxml(env: Env, sdk: SdkClient) -> dict:
    body = b"%PDF-1.7 this is not an edXML package"
    return sdk.send_raw("sendEdoc", send_headers(sdk, body), body)


def case_hash_file_mismatch(env: Env, sdk: SdkClient) -> dict:
    body = edoc_xml(A, [B], "22")
    headers = send_headers(sdk, body, **{"hash-file": hashlib.sha256(body + b" ").hexdigest()})
    return sdk.send_raw("sendEdoc", headers, body)


def case_replay(env: Env, sdk: SdkClient) -> dict:
    headers = sdk.headers(LIST, "application/json")
    SdkClient.ok(sdk.send_raw("getReceivedEdocList", headers))
    return sdk.send_raw("getReceivedEdocList", headers)


CASES: list[tuple[Callable[[Env, SdkClient], dict], str, int]] = [
    (case_wrong_hmac, "VXP-401-BAD-SIGNATURE", 401),
    (case_stale_timestamp, "VXP-401-STALE-TIMESTAMP", 401),
    (case_missing_signed_header, "VXP-401-MISSING-HEADER", 401),
    (case_unknown_systemid, "VXP-401-BAD-SIGNATURE", 401),
    (case_from_not_owned, "VXP-403-NOT-YOUR-AGENCY", 403),
    (case_body_not_edxml, "VXP-400-MALFORMED-XML", 400),
    (case_hash_file_mismatch, "VXP-400-HASH-MISMATCH", 400),
    (case_replay, "VXP-401-REPLAY", 401),
]


def test_refusals_have_stable_codes_and_are_logged(env: Env, sdk: SdkClient) -> None:
    for case, code, http in CASES:
        refused(case(env, sdk), code, http)
    assert logged_codes(env) == [code for _case, code, _http in CASES]
    with env.gw.sessions() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(ExchangeEvent)
                                .where(ExchangeEvent.kind == "submitted")).scalar_one() == 0


def test_refused_sendedoc_answers_docid_and_nothing_is_stored(sqlite_env: Env) -> None:
    sdk = vxp_system(sqlite_env, "sdk-a", [A])
    answer = sdk.send_edoc(edoc_xml(A, [B], "23"), A, ["000.00.00.G12"])  # 'to' outside the package's To
    refused(answer, "VXP-400-TO-MISMATCH", 400)
    assert answer["DocId"] == ""  # the SDK reads DocId of every sendEdoc answer
    mismatch = sdk.send_edoc(edoc_xml(A, [B], "24"), A, messagetype="status")
    refused(mismatch, "VXP-400-MESSAGETYPE-MISMATCH", 400)
    with sqlite_env.gw.sessions() as session:
        assert session.execute(sa.text("select count(*) from package")).scalar_one() == 0


def test_both_hash_file_forms_and_a_trailing_crlf_are_accepted(sqlite_env: Env) -> None:
    sdk = vxp_system(sqlite_env, "sdk-a", [A])
    for number, (digest, tail) in enumerate(
        [(sdk_hash_file, b""), (lambda b: hashlib.sha256(b).hexdigest().upper(), b""), (sdk_hash_file, b"\r\n")]
    ):
        body = edoc_xml(A, [B], f"3{number}")
        headers = send_headers(sdk, body, **{"hash-file": digest(body)})
        SdkClient.ok(sdk.send_raw("sendEdoc", headers, body + tail))


def test_a_deactivated_system_is_refused(sqlite_env: Env) -> None:
    with sqlite_env.gw.writes() as session, session.begin():
        client, _key = create_client(session, name="gone", role="dms", agencies=[A])
        secret = set_vxp_secret(session, client, systemid="vxp.gone", secret_key="demo-not-secret-change-me")
        client.active = False
    refused(SdkClient(sqlite_env.http, "vxp.gone", secret).call("getReceivedEdocList", LIST),
            "VXP-401-BAD-SIGNATURE", 401)
    with sqlite_env.gw.sessions() as session:
        sealed = session.execute(sa.select(ClientSystem.vxp_secret_sealed).where(ClientSystem.name == "gone"))
        assert secret not in sealed.scalar_one()  # stored sealed, not in clear


def test_a_system_changed_in_this_process_is_seen_at_once_despite_the_cache(env: Env) -> None:
    sdk = vxp_system(env, "cached", [A])
    SdkClient.ok(sdk.call("getReceivedEdocList", LIST))  # now cached, secret unsealed
    key = env.gw.settings.secret_key.get_secret_value()
    with env.gw.writes() as session, session.begin():
        client = session.execute(sa.select(ClientSystem).where(ClientSystem.name == "cached")).scalar_one()
        new_secret = set_vxp_secret(session, client, systemid=sdk.systemid, secret_key=key)
    refused(sdk.call("getReceivedEdocList", LIST), "VXP-401-BAD-SIGNATURE", 401)
    SdkClient.ok(SdkClient(env.http, sdk.systemid, new_secret).call("getReceivedEdocList", LIST))
    with env.gw.writes() as session, session.begin():
        session.execute(sa.select(ClientSystem).where(ClientSystem.name == "cached")).scalar_one().active = False
    refused(SdkClient(env.http, sdk.systemid, new_secret).call("getReceivedEdocList", LIST),
            "VXP-401-BAD-SIGNATURE", 401)


def test_an_unknown_system_is_not_remembered_as_unknown(env: Env) -> None:
    refused(SdkClient(env.http, "vxp.later", "x").call("getReceivedEdocList", LIST), "VXP-401-BAD-SIGNATURE", 401)
    SdkClient.ok(vxp_system(env, "later", [A]).call("getReceivedEdocList", LIST))


def test_the_replay_guard_remembers_until_expiry_and_purges_expired_rows(env: Env) -> None:
    guard = DatabaseReplayGuard(env.gw.engine, purge_seconds=0)
    now = datetime.now(UTC)
    assert guard.seen_before("vxp.x", "aa", now - timedelta(seconds=1)) is False
    assert guard.seen_before("vxp.x", "bb", now + timedelta(seconds=60)) is False
    assert guard.seen_before("vxp.x", "bb", now + timedelta(seconds=60)) is True
    assert guard.seen_before("vxp.y", "bb", now + timedelta(seconds=60)) is False  # per system
    with env.gw.sessions() as session:
        left = session.execute(sa.select(ReplayNonce.systemid, ReplayNonce.signature)).all()
    assert sorted(map(tuple, left)) == [("vxp.x", "bb"), ("vxp.y", "bb")]  # "aa" had expired: purged
    assert guard.seen_before("vxp.x", "aa", now + timedelta(seconds=60)) is False


def test_concurrent_identical_calls_get_one_new_and_the_rest_seen(env: Env) -> None:
    guard = DatabaseReplayGuard(env.gw.engine)
    expires = datetime.now(UTC) + timedelta(seconds=60)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: guard.seen_before("vxp.x", "cc", expires), range(8)))
    assert sorted(answers) == [False] + [True] * 7


def test_the_guard_does_not_leave_its_relaxed_commit_on_the_connection(postgres_url: str) -> None:
    """On PostgreSQL (synchronous_commit is its setting) the nonce's own transaction commits without waiting for
    the WAL flush; the operation that follows on the same pooled connection must still commit synchronously."""
    upgrade(postgres_url)
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        guard = DatabaseReplayGuard(engine)
        assert guard.seen_before("vxp.x", "dd", datetime.now(UTC) + timedelta(seconds=60)) is False
        with engine.connect() as conn:  # the one pooled connection the guard just used
            assert conn.execute(sa.text("SHOW synchronous_commit")).scalar() == "on"
            assert conn.connection.driver_connection.autocommit is False  # handed back as found
            conn.execute(sa.text("CREATE TEMPORARY TABLE t (x int)"))
            conn.rollback()  # a transaction, not autocommit: the table is gone again
            assert conn.execute(sa.text("SELECT to_regclass('pg_temp.t')")).scalar() is None
        assert guard.seen_before("vxp.x", "dd", datetime.now(UTC) + timedelta(seconds=60)) is True
    finally:
        engine.dispose()


def test_a_broken_pooled_connection_fails_one_call_and_is_replaced(postgres_url: str) -> None:
    """The guard's INSERT runs on the pooled connection's driver; when the server drops that connection, the call
    fails (the facade answers 500 and the SDK retries) and the pool replaces the connection for the next one."""
    upgrade(postgres_url)
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    other = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        guard = DatabaseReplayGuard(engine)
        expires = datetime.now(UTC) + timedelta(seconds=60)
        assert guard.seen_before("vxp.x", "ee", expires) is False
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with other.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        with pytest.raises(sa.exc.OperationalError) as failed:
            guard.seen_before("vxp.x", "ff", expires)
        assert failed.value.connection_invalidated
        assert guard.seen_before("vxp.x", "ff", expires) is False  # a fresh connection; "ff" was never stored
        assert guard.seen_before("vxp.x", "ee", expires) is True
    finally:
        engine.dispose()
        other.dispose()
