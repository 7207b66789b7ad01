"""Property test (issue 18): whatever happens to a signed file's bytes, verification ends in a report or in a
one-line refusal (``PdfVerificationError``, exit 3 in the CLI), never in another exception.

Bounded for CI: a fixed number of derandomised examples over three signed files (B-B RSA, B-T EC, a
two-signature file), offline so no network is involved; it runs in well under 60 s on one core.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.pdf.report import Indication, VerificationReport
from signing.pdf.revocation import RevocationMode, RevocationPolicy
from signing.pdf.verify import PdfVerificationError, verify_pdf
from tests.unit.signing.test_pdf_verify_kit import TEST_SET, base_pdf, sign, trust_store

_TOKENS = [
    b"/ByteRange", b"/Contents", b"%%EOF", b"startxref", b"xref", b"endobj", b"obj", b"/Type /Sig", b"/SubFilter",
    b"/Annots", b"/AcroForm", b"trailer", b"/Root", b"stream", b"endstream", b" R", b"/M (",
]
_JUNK = [b"", b"0", b"9999999999", b"<<", b">>", b"[", b"]", b"(", b")", b"<00>", b"/X", b"-1", b"\x00" * 8, b"%%EOF"]


@pytest.fixture(scope="module")
def corpus(test_pki) -> list[bytes]:
    pdf = base_pdf(1)
    two = sign(sign(pdf, test_pki, "good-rsa"), test_pki, "good-ec", field="Sig2")
    return [sign(pdf, test_pki, "good-rsa"), sign(pdf, test_pki, "good-ec", timestamp=True), two]


@pytest.fixture(scope="module")
def check(test_pki):
    store = trust_store(test_pki)
    policy = RevocationPolicy(mode=RevocationMode.SOFT_FAIL, offline=True)

    def run(data: bytes) -> None:
        try:
            report = verify_pdf(data, trust=store, anchor_sets=[TEST_SET], revocation=policy, at=test_pki.now)
        except PdfVerificationError as exc:
            assert "\n" not in str(exc) and exc.code  # one line, a stable code
            return
        assert isinstance(report, VerificationReport)
        report.to_json()  # serialisable, as the CLI and the API write it
        for sig in report.signatures:
            if sig.indication is Indication.TOTAL_PASSED:
                assert sig.integrity

    return run


def _mutate(data: bytes, kind: int, where: float, size: int, junk: bytes, token: int) -> bytes:
    at = int(where * (len(data) - 1))
    if kind == 0:  # flip one byte
        return data[:at] + bytes([data[at] ^ (size % 255 + 1)]) + data[at + 1 :]
    if kind == 1:  # truncate
        return data[:at]
    if kind == 2:  # delete a span
        return data[:at] + data[at + size :]
    if kind == 3:  # insert junk
        return data[:at] + junk + data[at:]
    if kind == 4:  # duplicate a span
        return data[:at] + data[at : at + size] + data[at:]
    needle = _TOKENS[token % len(_TOKENS)]
    hits = [i for i in range(len(data)) if data.startswith(needle, i)][:50] if kind == 5 else []
    if kind == 5 and hits:  # damage a structural token
        i = hits[size % len(hits)]
        return data[:i] + junk + data[i + len(needle) :]
    return data + b"\n" + junk + b"\n%%EOF\n"  # append a bogus update


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.integers(0, 2),
    kind=st.integers(0, 6),
    where=st.floats(0, 1),
    size=st.integers(1, 4096),
    junk=st.sampled_from(_JUNK),
    token=st.integers(0, 100),
)
def test_every_mutation_ends_in_a_report_or_a_refusal(corpus, check, which, kind, where, size, junk, token):
    check(_mutate(corpus[which], kind, where, size, junk, token))


@pytest.mark.parametrize("step", [1, 7, 64, 1000])
def test_every_truncation_point_family(corpus, check, step):
    data = corpus[0]
    for cut in range(len(data) - 3000, len(data), max(step, 1) * 40):
        check(data[:cut])
