"""``POST /api/v1/sign`` with a remote credential and ``GET /api/v1/sign/{tx}``, on a real gateway (SQLite) against
the local VNPT SmartCA and Viettel MySign test servers (real HTTP, test-PKI key), and the bad days of issue 23:
the official rejects, the window closes, the provider is away, its token expires mid-transaction, a value that
does not verify, a certificate that changed, polling twice. Nothing is served as signed unless it verifies.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from service.signatures import verify_document
from tests.integration.test_signing_api import trust_sets
from tests.support import remote_vn
from tests.support.gateway import Env, gateway_env
from tests.support.pdfs import simple_pdf
from tests.support.pki import TestPki
from tests.support.remote_vn import MySignServer, SmartCAServer, TestKey, load_test_key

SECRET_ENV = "EDOC_TEST_VNPT_SP_PASSWORD"
MYSIGN_ENV = "EDOC_TEST_MYSIGN_SECRET"


@pytest.fixture(scope="module")
def key(test_pki: TestPki) -> TestKey:
    return load_test_key(*test_pki.signer("good-rsa")[:2])


@pytest.fixture(scope="module")
def other(test_pki: TestPki) -> TestKey:
    return load_test_key(*test_pki.signer("untrusted")[:2])


@pytest.fixture
def smartca(key: TestKey) -> Iterator[SmartCAServer]:
    server = SmartCAServer(key).start()
    yield server  # type: ignore[misc]
    server.stop()


@pytest.fixture
def mysign(key: TestKey) -> Iterator[MySignServer]:
    server = MySignServer(key).start()
    yield server  # type: ignore[misc]
    server.stop()


def remote_settings(pki: TestPki, smartca: SmartCAServer, mysign: MySignServer) -> dict[str, Any]:
    return {
        "trust_sets": trust_sets(pki),
        "tsa_url": pki.tsa_url,
        "remote_poll_seconds": 0.2,
        "remote_webhook_allowed_networks": ("127.0.0.1/32",),
        "remote_signers": {
            "vnpt": {"url": smartca.url, "options": {"sp_id": remote_vn.SP_ID}, "level": "B-B",
                     "secret_env": {"sp_password": SECRET_ENV}},
            "mysign": {"url": mysign.url, "options": {"client_id": remote_vn.CLIENT_ID, "profile_id": "p1"},
                       "secret_env": {"client_secret": MYSIGN_ENV}, "level": "B-T"},
        },
    }


@pytest.fixture
def api(test_pki: TestPki, smartca: SmartCAServer, mysign: MySignServer, tmp_path: Path, empty_database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """A gateway on SQLite and on PostgreSQL (the transaction's conditional updates are the subject)."""
    monkeypatch.setenv(SECRET_ENV, remote_vn.SP_PASSWORD)
    monkeypatch.setenv(MYSIGN_ENV, remote_vn.CLIENT_SECRET)
    yield from gateway_env(empty_database_url, tmp_path, **remote_settings(test_pki, smartca, mysign))


def post_remote(api: Env, provider: str = "vnpt", who: str = "clerk", **remote: Any) -> Any:
    options = {"remote": {"provider": provider, "credential": remote_vn.USER, **remote}}
    files = {"file": ("cong-van.pdf", simple_pdf(1), "application/pdf")}
    return api.http.post("/api/v1/sign", files=files, data={"options": json.dumps(options)}, headers=api.as_(who))


def poll(api: Env, location: str, who: str = "clerk") -> Any:
    return api.http.get(location, headers=api.as_(who))


def started(api: Env, provider: str = "vnpt", **remote: Any) -> str:
    response = post_remote(api, provider, **remote)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending" and response.headers["Location"] == body["location"]
    assert body["message"] == "Đang chờ người ký xác nhận trên điện thoại."
    return str(response.headers["Location"])


def test_smartca_waits_for_the_phone_then_serves_a_valid_signature(api, smartca):
    location = started(api)
    assert poll(api, location).status_code == 202
    smartca.confirm()
    done = poll(api, location)
    assert done.status_code == 200, done.text
    assert done.headers["content-type"] == "application/pdf" and done.headers["X-Remote-Signing-Status"] == "done"
    report = verify_document(api.gw, done.content)
    assert report.signatures[0].signer.common_name == "Nguyễn Văn An"
    assert report.signatures[0].integrity and report.signatures[0].covers_final_document


def test_mysign_b_t_signature_verifies_total_passed(api, mysign):
    location = started(api, "mysign")
    mysign.confirm()
    done = poll(api, location)
    assert done.status_code == 200, done.text
    assert verify_document(api.gw, done.content).indication.value == "TOTAL_PASSED"


def test_polling_again_serves_the_same_file_and_never_signs_twice(api, smartca):
    location = started(api)
    smartca.confirm()
    first, second = poll(api, location), poll(api, location)
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert smartca.sign_requests == 1


def test_rejected_by_the_signer(api, smartca):
    location = started(api)
    smartca.reject()
    for _ in range(2):  # the ending is stored: asked again, the same answer
        response = poll(api, location)
        assert response.status_code == 409 and response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "remote_rejected" and body["transaction_status"] == "rejected"
        assert body["detail"] == "Người ký đã từ chối ký trên điện thoại; văn bản chưa được ký."
        assert body["message_en"].startswith("The signer refused")


def test_confirmation_window_closed(api, mysign):
    location = started(api, "mysign")
    mysign.expire()
    response = poll(api, location)
    assert response.status_code == 410 and response.json()["code"] == "remote_expired"


def test_provider_unreachable_at_start_and_while_waiting(api, smartca):
    smartca.failures = 1
    refused = post_remote(api)
    assert refused.status_code == 503 and refused.json()["code"] == "remote_unreachable"
    assert refused.headers["Retry-After"] and refused.json()["detail"].startswith("Không kết nối được")
    location = started(api)
    smartca.failures = 1
    away = poll(api, location)
    assert away.status_code == 503 and away.json()["code"] == "remote_unreachable"
    assert away.json()["detail"].startswith("Không kết nối được dịch vụ ký số từ xa")
    assert poll(api, location).status_code == 202  # back: still waiting, nothing lost
    smartca.confirm()
    assert poll(api, location).status_code == 200


def test_token_expired_mid_transaction(api, mysign):
    location = started(api, "mysign")
    mysign.expire_tokens()
    mysign.confirm()
    assert poll(api, location).status_code == 200
    assert mysign.logins == 2


def test_a_value_that_does_not_verify_is_never_served(api, smartca, other):
    location = started(api)
    smartca.sign_with = other  # the provider signs with a key that is not the certificate's
    smartca.confirm()
    for _ in range(2):
        response = poll(api, location)
        assert response.status_code == 502 and response.json()["code"] == "remote_bad_signature"
        assert "application/pdf" not in response.headers["content-type"]


def test_a_changed_certificate_is_refused(api, smartca, other):
    location = started(api)
    smartca.certificate = other.certificate  # the credential now answers with another certificate
    smartca.confirm()
    response = poll(api, location)
    assert response.status_code == 502 and response.json()["code"] == "remote_certificate_changed"


def test_only_the_requesting_client_sees_its_transaction(api, smartca):
    location = started(api)
    assert poll(api, location, who="admin").status_code == 202
    assert poll(api, location, who="A").status_code == 403  # a dms client may not sign at all
    assert poll(api, "/api/v1/sign/0123456789abcdef").json()["code"] == "remote_transaction_not_found"


def test_options_name_one_signer_and_a_known_provider(api):
    files = {"file": ("a.pdf", simple_pdf(1), "application/pdf")}
    both = {"key": "x", "remote": {"provider": "vnpt", "credential": "u"}}
    response = api.http.post("/api/v1/sign", files=files, data={"options": json.dumps(both)}, headers=api.as_("clerk"))
    assert response.status_code == 422 and response.json()["code"] == "invalid_options"
    assert post_remote(api, "nope").json()["code"] == "unknown_remote_signer"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *_args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
        self.send_response(204)
        self.end_headers()


def test_webhook_is_called_once_when_done(api, smartca):
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    _Hook.received = []
    try:
        location = started(api, webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/signed")
        smartca.confirm()
        poll(api, location)
        poll(api, location)
    finally:
        hook.shutdown()
        hook.server_close()
    assert [(r["status"], r["location"]) for r in _Hook.received] == [("done", location)]


def test_webhook_into_a_private_network_is_refused(api):
    response = post_remote(api, webhook_url="http://10.1.2.3/hook")
    assert response.status_code == 422 and response.json()["code"] == "webhook_url_refused"


def test_secrets_and_pin_stay_out_of_logs_and_answers(api, smartca, caplog):
    caplog.set_level(logging.DEBUG)
    location = started(api, pin="123987")
    smartca.sign_with = None
    smartca.reject()
    body = poll(api, location).text
    for secret in (remote_vn.SP_PASSWORD, "123987"):
        assert secret not in caplog.text and secret not in body


def test_the_gateways_own_wait_limit_closes_the_window(api, smartca):
    import sqlalchemy as sa

    from storage.models import REMOTE_SIGNINGS, utcnow

    location = started(api)
    with api.gw.writes() as session, session.begin():  # the official has taken longer than wait_seconds
        session.execute(sa.update(REMOTE_SIGNINGS).values(expires_at=utcnow()))
    response = poll(api, location)
    assert response.status_code == 410 and response.json()["code"] == "remote_expired"
    smartca.confirm()  # too late: the transaction has ended and stays ended
    assert poll(api, location).status_code == 410


def test_killed_before_the_providers_answer_was_stored(api, smartca):
    from datetime import timedelta

    import sqlalchemy as sa

    from storage.models import REMOTE_SIGNINGS, utcnow

    location = started(api)
    with api.gw.writes() as session, session.begin():  # as if killed between writing the row and the answer
        session.execute(sa.update(REMOTE_SIGNINGS).values(status="starting", provider_tx=None,
                                                          created_at=utcnow() - timedelta(minutes=3)))
    response = poll(api, location)
    assert response.status_code == 502 and response.json()["code"] == "remote_interrupted"
    smartca.confirm()
    assert poll(api, location).status_code == 502  # never served, even once the official confirmed


def test_two_pollers_at_once_finish_once(api, smartca):
    from concurrent.futures import ThreadPoolExecutor

    from service import remote_signing

    location = started(api)
    tx = location.rsplit("/", 1)[1]
    smartca.confirm()
    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda n: remote_signing.poll(api.gw, tx, caller=None, worker=f"w{n}"), range(4)))
    assert {o.status for o in seen} <= {"pending", "done"} and "done" in {o.status for o in seen}
    final = remote_signing.poll(api.gw, tx, caller=None)
    assert final.status == "done" and all(o.pdf in (None, final.pdf) for o in seen)
    assert smartca.sign_requests == 1


def test_an_unknown_official_is_refused_in_vietnamese(api):
    files = {"file": ("a.pdf", simple_pdf(1), "application/pdf")}
    options = {"remote": {"provider": "vnpt", "credential": "000000000000"}}
    response = api.http.post("/api/v1/sign", files=files, data={"options": json.dumps(options)},
                             headers=api.as_("clerk"))
    assert response.status_code == 422 and response.json()["code"] == "remote_bad_request"
    assert response.json()["detail"].startswith("Dịch vụ ký số từ xa từ chối yêu cầu")


def test_b_lt_refuses_a_signer_before_the_official_is_asked(api, smartca):
    # The test PKI's responders answer as of its pinned moment: "now" its signer cannot be validated for B-LT.
    files = {"file": ("a.pdf", simple_pdf(1), "application/pdf")}
    options = {"remote": {"provider": "vnpt", "credential": remote_vn.USER}, "level": "B-LT"}
    response = api.http.post("/api/v1/sign", files=files, data={"options": json.dumps(options)},
                             headers=api.as_("clerk"))
    assert response.status_code == 422 and response.json()["code"] == "certificate_rejected"
    assert smartca.sign_requests == 0
