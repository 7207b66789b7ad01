"""Remote signing through a CSC API service, end to end at the library level (issue 23): the local CSC server
(tests/support/csc_server.py, key in SoftHSM2) signs the hash of the signed attributes that
signing/remote/interrupted.py prepared, after an asynchronous confirmation; the PDF verifies TOTAL_PASSED in our
verifier and in poppler's pdfsig. pyHanko's own CSC client signs against the same server (it is a real peer), and
our adapter signs against the PyPI certomancer-csc-dummy server (a second peer).
Bad days: unreachable provider, token expired mid-transaction, signer rejects, window expires, a value that does
not verify (corrupted or from another key), a changed certificate, a process restart (even SIGKILL) while pending.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from signing.pdf.appearance import Appearance, Box
from signing.pdf.report import Indication
from signing.remote import from_url
from signing.remote.csc import CscSigner
from signing.remote.interfaces import RemoteSigningError, RemoteState
from signing.remote.interrupted import PendingState, Prepared, finish, prepare, sign_request
from tests.support.csc_server import CscTestServer
from tests.support.env import require_executable
from tests.support.pki import TestPki
from tests.support.pki.pdfs import make_pdf
from tests.support.remote import CSC_CLIENT_ID, CSC_CLIENT_SECRET, CSC_PIN, RemoteHarness, csc_url
from tests.unit.signing.test_pdf_verify_kit import verify

pytestmark = pytest.mark.softhsm

ROOT = Path(__file__).resolve().parents[2]
PDF = make_pdf(pages=2, size=24_000)
AUTH = {"PIN": CSC_PIN}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 120), (20, 40, 200)).save(out, "PNG")
    return out.getvalue()


ND30 = Appearance.signer(_png(), Box(0, 300, 150, 450, 210))


@pytest.fixture
def v2(csc_server: CscTestServer) -> CscSigner:
    signer = from_url(csc_url(csc_server.url, 2), client_secret=CSC_CLIENT_SECRET)
    assert isinstance(signer, CscSigner)
    return signer


def _pdfsig(path: Path) -> str:
    exe = require_executable("pdfsig", "install poppler-utils")
    return subprocess.run([exe, "-nocert", str(path)], capture_output=True, text=True, check=False).stdout


def _prepare(signer: CscSigner, credential_id: str = "rsa-1", level: str = "B-T", **kw: object) -> Prepared:
    return prepare(PDF, signer.credential(credential_id), level=level, **kw)  # type: ignore[arg-type]


def _start_pending(signer: CscSigner, prepared: list[Prepared], credential_id: str = "rsa-1") -> str:
    result = signer.start(sign_request(prepared, signer.credential(credential_id), authorization=AUTH))
    assert result.state is RemoteState.PENDING and result.transaction
    return result.transaction


def test_async_confirmation_nd30_appearance_b_t(
    v2: CscSigner, csc_server: CscTestServer, test_pki: TestPki, tmp_path: Path
) -> None:
    prepared = _prepare(v2, appearance=ND30, reason="Phê duyệt")
    tx = _start_pending(v2, [prepared])
    assert v2.poll(tx).state is RemoteState.PENDING  # the signer has not confirmed on the phone yet
    httpx.post(f"{csc_server.url}/_test/confirm", json={"responseID": tx}).raise_for_status()  # … now they do
    result = v2.poll(tx)
    assert result.state is RemoteState.DONE
    signed = finish(
        prepared.state,
        result.signatures[0],
        certificate=v2.credential("rsa-1").certificate,
        tsa_url=test_pki.tsa_url,
    )
    assert signed.startswith(PDF)
    report = verify(signed, test_pki)
    assert report.indication is Indication.TOTAL_PASSED, report
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    out = _pdfsig(path)
    assert "Signature is Valid" in out and "Total document signed" in out, out
    assert "Nguyễn Văn An" in out


def test_several_documents_under_one_authorisation(v2: CscSigner, csc_server: CscTestServer, test_pki: TestPki) -> None:
    credential = v2.credential("ec-1")
    batch = [prepare(make_pdf(pages=1, size=10_000 + i), credential, level="B-B") for i in range(3)]
    assert {p.signature_algorithm for p in batch} == {"sha256_ecdsa"}
    tx = _start_pending(v2, batch, "ec-1")
    csc_server.confirm(tx)
    result = v2.poll(tx)
    assert len(result.signatures) == 3
    for p, value in zip(batch, result.signatures, strict=True):
        assert verify(finish(p.state, value), test_pki).indication is Indication.TOTAL_PASSED


def test_pss_through_csc_v1(csc_server: CscTestServer, test_pki: TestPki) -> None:
    v1 = from_url(csc_url(csc_server.url, 1), client_secret=CSC_CLIENT_SECRET)
    prepared = prepare(PDF, v1.credential("rsa-1"), level="B-B", pss=True)
    result = v1.start(sign_request([prepared], v1.credential("rsa-1"), authorization=AUTH))
    assert result.state is RemoteState.DONE  # v1 is synchronous
    assert verify(finish(prepared.state, result.signatures[0]), test_pki).indication is Indication.TOTAL_PASSED


def test_pyhanko_csc_client_signs_against_the_server(csc_server: CscTestServer, test_pki: TestPki) -> None:
    import aiohttp
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.signers.csc_signer import (
        CSCAuthorizationInfo,
        CSCAuthorizationManager,
        CSCServiceSessionInfo,
        CSCSigner,
        fetch_certs_in_csc_credential,
    )

    token = httpx.post(
        f"{csc_server.url}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": CSC_CLIENT_ID, "client_secret": CSC_CLIENT_SECRET},
    ).json()["access_token"]

    class PinAuthorization(CSCAuthorizationManager):  # pyHanko ships only the prefetched-SAD manager
        def __init__(self, info: CSCServiceSessionInfo, credential: object, session: aiohttp.ClientSession) -> None:
            super().__init__(info, credential)  # type: ignore[arg-type]
            self.session = session

        async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
            body = self.format_csc_auth_request(pin=CSC_PIN, hash_b64s=hash_b64s)
            url = self.csc_session_info.endpoint_url("credentials/authorize")
            async with self.session.post(url, json=body, headers=self.auth_headers, raise_for_status=True) as resp:
                return self.parse_csc_auth_response(await resp.json())

    async def sign() -> bytes:
        async with aiohttp.ClientSession() as session:
            info = CSCServiceSessionInfo(csc_server.url, "rsa-1", oauth_token=token, api_ver="v1")
            credential = await fetch_certs_in_csc_credential(session, info)
            signer = CSCSigner(session, PinAuthorization(info, credential, session))
            meta = signers.PdfSignatureMetadata(field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES)
            out = await signers.PdfSigner(meta, signer).async_sign_pdf(IncrementalPdfFileWriter(io.BytesIO(PDF)))
            return bytes(out.getvalue())

    signed = asyncio.run(sign())
    assert "credentials/authorize" in csc_server.requests and "signatures/signHash" in csc_server.requests
    assert verify(signed, test_pki).indication is Indication.TOTAL_PASSED


def test_certomancer_csc_dummy_as_a_second_peer(csc_dummy: RemoteHarness, test_pki: TestPki) -> None:
    signer = csc_dummy.signer
    credential = signer.credential(csc_dummy.credential_id)
    prepared = prepare(PDF, credential, level="B-T", appearance=ND30)
    result = signer.start(sign_request([prepared], credential))
    assert result.state is RemoteState.DONE
    signed = finish(prepared.state, result.signatures[0], certificate=credential.certificate, tsa_url=test_pki.tsa_url)
    assert verify(signed, test_pki).indication is Indication.TOTAL_PASSED


# -- bad days -------------------------------------------------------------------------------------------------


def test_provider_unreachable(test_pki: TestPki) -> None:
    from tests.support.server import free_port

    dead = from_url(csc_url(f"http://127.0.0.1:{free_port()}", 2), client_secret=CSC_CLIENT_SECRET)
    with pytest.raises(RemoteSigningError) as err:
        dead.credential("rsa-1")
    assert err.value.code == "remote_unreachable" and CSC_CLIENT_SECRET not in str(err.value)


def test_token_expired_mid_transaction(v2: CscSigner, csc_server: CscTestServer, test_pki: TestPki) -> None:
    prepared = _prepare(v2, level="B-B")
    tx = _start_pending(v2, [prepared])
    csc_server.expire_tokens()  # the gateway's token dies while the signer reads the phone
    csc_server.confirm(tx)
    tokens = len(csc_server.tokens)
    result = v2.poll(tx)  # 401 → a new client-credentials token → the same poll again
    assert result.state is RemoteState.DONE and len(csc_server.tokens) == tokens + 1
    assert verify(finish(prepared.state, result.signatures[0]), test_pki).indication is Indication.TOTAL_PASSED


@pytest.mark.parametrize(("mode", "code"), [("http500", "remote_unreachable"), ("garbage", "remote_protocol")])
def test_a_broken_service(v2: CscSigner, csc_server: CscTestServer, mode: str, code: str) -> None:
    assert v2.info()["specs"].startswith("2.")
    csc_server.mode = mode
    with pytest.raises(RemoteSigningError) as err:
        v2.credentials()
    assert err.value.code == code


def test_wrong_client_secret_is_auth_failed(csc_server: CscTestServer) -> None:
    signer = from_url(csc_url(csc_server.url, 2), client_secret="not-the-secret")
    with pytest.raises(RemoteSigningError) as err:
        signer.credentials()
    assert err.value.code == "remote_auth_failed" and "not-the-secret" not in str(err.value)


def test_wrong_pin_is_auth_failed(v2: CscSigner) -> None:
    prepared = _prepare(v2, level="B-B")
    with pytest.raises(RemoteSigningError) as err:
        v2.start(sign_request([prepared], v2.credential("rsa-1"), authorization={"PIN": "999999"}))
    assert err.value.code == "remote_auth_failed" and "999999" not in str(err.value)


@pytest.mark.parametrize("outcome", ["reject", "expire"])
def test_rejected_or_expired_then_a_retry_is_safe(
    v2: CscSigner, csc_server: CscTestServer, test_pki: TestPki, outcome: str
) -> None:
    prepared = _prepare(v2, level="B-B")
    tx = _start_pending(v2, [prepared])
    getattr(csc_server, outcome)(tx)
    state = v2.poll(tx).state
    assert state is (RemoteState.REJECTED if outcome == "reject" else RemoteState.EXPIRED)
    # nothing was produced; the same prepared document can be sent again
    retry = _start_pending(v2, [prepared])
    csc_server.confirm(retry)
    signed = finish(prepared.state, v2.poll(retry).signatures[0])
    assert verify(signed, test_pki).indication is Indication.TOTAL_PASSED


@pytest.mark.parametrize("mode", ["corrupt", "wrong_key"])
def test_a_value_that_does_not_verify_is_never_embedded(
    v2: CscSigner, csc_server: CscTestServer, test_pki: TestPki, mode: str
) -> None:
    prepared = _prepare(v2, level="B-B")
    csc_server.mode = mode
    tx = _start_pending(v2, [prepared])
    csc_server.confirm(tx)
    bad = v2.poll(tx).signatures[0]
    with pytest.raises(RemoteSigningError) as err:
        finish(prepared.state, bad)
    assert err.value.code == "remote_bad_signature"
    csc_server.mode = "normal"
    retry = _start_pending(v2, [prepared])
    csc_server.confirm(retry)
    assert verify(finish(prepared.state, v2.poll(retry).signatures[0]), test_pki).indication is Indication.TOTAL_PASSED


def test_a_swapped_value_from_another_document_is_refused(v2: CscSigner, csc_server: CscTestServer) -> None:
    first, second = _prepare(v2, level="B-B"), prepare(make_pdf(1, 9_000), v2.credential("rsa-1"), level="B-B")
    tx = _start_pending(v2, [first, second])
    csc_server.confirm(tx)
    _, b = v2.poll(tx).signatures
    with pytest.raises(RemoteSigningError) as err:
        finish(first.state, b)
    assert err.value.code == "remote_bad_signature"


def test_certificate_changed(v2: CscSigner, csc_server: CscTestServer, test_pki: TestPki) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    prepared = _prepare(v2, level="B-B")
    tx = _start_pending(v2, [prepared])
    csc_server.confirm(tx)
    value = v2.poll(tx).signatures[0]
    renewed = test_pki.signer("good-ec")[2].public_bytes(Encoding.DER)
    csc_server.set_certificates("rsa-1", [renewed, test_pki.intermediate_cert.public_bytes(Encoding.DER)])
    with pytest.raises(RemoteSigningError) as err:
        finish(prepared.state, value, certificate=v2.credential("rsa-1").certificate)
    assert err.value.code == "remote_certificate_changed"


def test_restart_while_pending_finishes_from_the_stored_state(
    csc_server: CscTestServer, test_pki: TestPki, tmp_path: Path
) -> None:
    """A child process prepares, asks the provider, stores the state and is SIGKILLed while the signer has not
    confirmed; this process builds everything anew from the stored state, polls and finishes."""
    url = csc_url(csc_server.url, 2)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, str(tmp_path), test_pki.tsa_url],
        cwd=ROOT,
        env={**os.environ, "CSC_SECRET": CSC_CLIENT_SECRET, "CSC_PIN": CSC_PIN, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "ready").exists():
        assert child.poll() is None and time.monotonic() < deadline, "the child did not reach the pending state"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    stored = json.loads((tmp_path / "pending.json").read_text())
    state = PendingState.from_json(json.dumps(stored["state"]), (tmp_path / "prepared.pdf").read_bytes())
    csc_server.confirm(stored["transaction"])
    signer = from_url(url, client_secret=CSC_CLIENT_SECRET)  # a new adapter: no token, no cache
    result = signer.poll(stored["transaction"])
    assert result.state is RemoteState.DONE
    signed = finish(
        state, result.signatures[0], certificate=signer.credential("rsa-1").certificate, tsa_url=test_pki.tsa_url
    )
    assert verify(signed, test_pki).indication is Indication.TOTAL_PASSED


_CHILD = """
import json, os, sys, time
from pathlib import Path
from signing.remote import from_url
from signing.remote.interrupted import prepare, sign_request
from tests.support.pki.pdfs import make_pdf
url, out = sys.argv[1], Path(sys.argv[2])
signer = from_url(url, client_secret=os.environ["CSC_SECRET"])
credential = signer.credential("rsa-1")
prepared = prepare(make_pdf(pages=2, size=24_000), credential, level="B-T")
result = signer.start(sign_request([prepared], credential, authorization={"PIN": os.environ["CSC_PIN"]}))
(out / "prepared.pdf").write_bytes(prepared.state.pdf)
(out / "pending.json").write_text(json.dumps({"state": dict(prepared.state.data), "transaction": result.transaction}))
(out / "ready").write_text("")
time.sleep(600)
"""
