"""What makes repeated verification fast, tested as behaviour (never as timing): the parsed-object cache of a
long-lived RevocationPolicy, its bounds and thread-safety, and the fast reading of signature /Contents, which
must give exactly the objects pyHanko's own reader gives (or leave the reading to pyHanko)."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pdf.report import Indication
from signing.pdf.revocation import RevocationCache, RevocationPolicy, SharedCertificate
from signing.pdf.verify_contents import prefill_signature_objects
from tests.unit.signing.test_pdf_verify_kit import asn1, base_pdf, sign, trust_store, verify

PASSED = Indication.TOTAL_PASSED


@pytest.fixture(scope="module")
def two_lt(test_pki) -> bytes:
    """The benchmark's shape: two B-LT signatures (signer, then organisation)."""
    pdf = base_pdf()
    return sign(sign(pdf, test_pki, "good-rsa", field="Signer", lt=True), test_pki, "good-ec", field="Org", lt=True)


def _plain(report) -> dict:
    return report.to_dict()


def test_repeated_verification_reuses_parsed_objects_and_gives_the_same_report(test_pki, two_lt):
    policy = RevocationPolicy()
    first = verify(two_lt, test_pki, policy=policy)
    assert first.indication is PASSED
    entries, hits, fetches = policy.cache.shared_entries, policy.cache.shared_hits, policy.cache.fetches
    assert entries > 0  # certificates, OCSP responses and CRLs met in the document are kept parsed

    second = verify(two_lt, test_pki, policy=policy)
    assert policy.cache.shared_entries == entries  # nothing new to parse: the same DER met again
    assert policy.cache.shared_hits >= hits + entries
    assert policy.cache.fetches == fetches
    assert _plain(second) == _plain(first)
    # and a fresh policy (nothing cached) agrees with the warm one
    assert _plain(verify(two_lt, test_pki, policy=RevocationPolicy())) == _plain(second)


def test_one_policy_shared_by_threads_gives_identical_reports(test_pki, two_lt):
    one_sig = sign(base_pdf(), test_pki, "good-ec", lt=True)
    expected = {doc: _plain(verify(doc, test_pki)) for doc in (two_lt, one_sig)}
    policy = RevocationPolicy()  # cold: the threads race to fill the cache
    trust = trust_store(test_pki)
    docs = [two_lt, one_sig] * 6
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda doc: verify(doc, test_pki, policy=policy, trust=trust), docs))
    for doc, report in zip(docs, reports, strict=True):
        assert _plain(report) == expected[doc]


def test_trust_anchors_are_parsed_in_full_before_threads_share_them(test_pki):
    """asn1crypto parses lazily and not thread-safely: two threads building their trust managers from the same
    anchor once raised KeyError half-way through parsing its subject (the test above, one CI run in several).
    The trust store now parses its anchors in full when it is built, so readers only ever read."""
    trust = trust_store(test_pki)
    anchors = trust.parsed(trust.anchors())
    assert anchors
    for cert in anchors:
        assert cert._native is not None  # every child parsed
        for name in (cert.subject, cert.issuer):
            assert all(pair._prepped is not None for rdn in name.chosen for pair in rdn)  # comparison forms memoised


def test_shared_objects_are_bounded_and_identical_to_the_original(test_pki):
    cache = RevocationCache(max_shared=2)
    certs = [asn1(test_pki.signer(name)[2]) for name in ("good-rsa", "good-ec", "revoked")]
    shared = [cache.shared_cert(c) for c in certs]
    assert all(isinstance(s, SharedCertificate) and s.dump() == c.dump() for s, c in zip(shared, certs, strict=True))
    assert cache.shared_entries == 2  # least recently used dropped
    assert shared[2].untag() is shared[2]  # pyHanko's per-lookup deep copy is skipped for shared certificates
    assert cache.shared_cert(certs[2]) is shared[2] and cache.shared_hits == 1

    small = RevocationCache(max_shared_der=100)  # every certificate is larger: kept out, returned as given
    assert small.shared_cert(certs[0]) is certs[0] and small.shared_entries == 0


# --- reading /Contents without pyHanko's character lexer ----------------------------------------------------


def _sig_refs(reader: PdfFileReader) -> list[generic.Reference]:
    refs = []
    for field_ref in reader.root["/AcroForm"]["/Fields"]:
        value = field_ref.get_object().raw_get("/V")
        if isinstance(value, generic.IndirectObject):
            refs.append(value.reference)
    return refs


def _read_both(data: bytes) -> tuple[int, list[tuple[object, object]]]:
    """(how many were prefilled, [(prefilled reading, pyHanko's reading)] per signature, exceptions as values)."""
    fast, plain = PdfFileReader(io.BytesIO(data), strict=False), PdfFileReader(io.BytesIO(data), strict=False)
    done = prefill_signature_objects(fast, data)
    pairs = []
    for ref in _sig_refs(plain):
        pair = []
        for reader in (fast, plain):
            try:
                pair.append(reader.get_object(ref))
            except Exception as exc:  # the same failure on both sides is the expected outcome
                pair.append(type(exc))
        pairs.append(tuple(pair))
    return done, pairs


def _same(a, b) -> bool:
    if isinstance(a, type) or isinstance(b, type):
        return a == b
    if type(a) is not type(b) or list(a.keys()) != list(b.keys()):
        return False
    for key in a:
        x, y = a.raw_get(key), b.raw_get(key)
        if type(x) is not type(y) or x != y or getattr(x, "container_ref", None) != getattr(y, "container_ref", None):
            return False
        if isinstance(x, generic.ByteStringObject | generic.TextStringObject) and x.original_bytes != y.original_bytes:
            return False
    return True


def _edit_contents(data: bytes, edit) -> bytes:
    """Rewrite the tail of the last signature's /Contents digits (its zero padding) keeping the file's length."""
    match = list(re.finditer(rb"/Contents\s*<([0-9a-fA-F]+)>", data))[-1]
    digits = match.group(1)
    new = edit(digits)
    assert len(new) == len(digits)
    return data[: match.start(1)] + new + data[match.end(1) :]


EDITS = {
    "whitespace": (lambda d: d[:-10] + b"00 00\n0000", 2),
    "odd_digit_count": (lambda d: d[:-1] + b" ", 2),
    "comment_inside": (lambda d: d[:-6] + b"%0\n000", 1),  # '%' starts a comment even inside a hex string
    "invalid_digit": (lambda d: d[:-4] + b"00G0", 1),  # pyHanko refuses it; so must we (by not reading it)
}


def test_prefilled_signature_dictionaries_equal_pyhankos_own(test_pki, two_lt):
    done, pairs = _read_both(two_lt)
    assert done == 2
    assert all(_same(a, b) for a, b in pairs)


@pytest.mark.parametrize("case", sorted(EDITS))
def test_unusual_contents_read_as_pyhanko_reads_them(test_pki, two_lt, case):
    edit, expected_done = EDITS[case]
    done, pairs = _read_both(_edit_contents(two_lt, edit))
    assert done == expected_done
    assert all(_same(a, b) for a, b in pairs), pairs


def test_hex_lookalike_inside_a_literal_string_is_left_to_pyhanko(test_pki, two_lt):
    """A byte scan would take the run inside ``(...)`` for the /Contents string; the parse shows it is not one."""
    match = list(re.finditer(rb"/Contents\s*<([0-9a-fA-F]+)>", two_lt))[-1]
    lookalike = b"/R (<" + b"0" * 600 + b">) /Contents <"
    digits = match.group(1)[: len(match.group(1)) - len(lookalike) + len(b"/Contents <")]
    edited = two_lt[: match.start()] + lookalike + digits + b">" + two_lt[match.end() :]
    assert len(edited) == len(two_lt)
    done, pairs = _read_both(edited)
    assert done == 1  # the untouched first signature only
    assert all(_same(a, b) for a, b in pairs), pairs
    assert pairs[-1][0].raw_get("/R").original_bytes.startswith(b"<000")
