"""Verification speed.

Default: p50 of verify_pdf on a two-signature PAdES B-LT file with revocation data cached. Issue 3 target: ≤ 30 ms
p50. Run: ``.venv/bin/python -m bench.verify [--runs N] [--pages P]``. The file is signed here with pyHanko
(signer, then organisation, both B-LT against the test PKI's live OCSP/CRL/TSA); verification runs with one
long-lived RevocationPolicy, as the service does (its cache keeps fetched revocation data and the parsed
certificates, OCSP responses and CRLs met in documents). A second line shows the cost with a new policy per call,
which keeps nothing between calls. The machine is shared: compare runs made at the same time, and prefer the CPU
figure when the load is high.

``--foreign`` (issue 18): files in the shapes other software writes, verified by us and by pyHanko in the same run.
Run: ``.venv/bin/python -m bench.verify --foreign [--runs 20] [--batch 100] [--cli-runs 10]``. Prints

* per file class, in-process p50/p95 of ``verify_pdf`` (one long-lived offline soft-fail policy, as the service
  keeps one) beside pyHanko's ``validate_pdf_signature`` / ``validate_pdf_timestamp`` on the same bytes (offline,
  soft-fail, trusting the same root); a class pyHanko cannot evaluate shows its exception's name;
* CLI start-up: ``edoc verify`` on a non-PDF (the process reads the file and refuses it: everything before
  "looking at the file") beside the time a Python process needs to import pyHanko's validation, which any
  pyHanko-based CLI pays before it reads a file; and ``edoc verify`` on one signed file end to end;
* a batch of ``--batch`` files in one ``edoc verify DIR`` process against as many single-file CLI runs, the
  latter estimated from ``--cli-runs`` timed runs (100 runs take minutes on a shared machine).

Targets (issue 18): in-process ≤ 0.5× pyHanko; start-up ≤ 0.25 s; batch ≤ 0.3× the single runs. Figures of past
runs: docs/performance.md.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator import ValidationContext

from bench.harness import calibration_ms
from signing.pdf.revocation import RevocationMode, RevocationPolicy
from signing.pdf.trust import AnchorConfig, TrustStore
from signing.pdf.verify import verify_pdf
from tests.support.pki import TestPki, running_test_pki
from tests.support.pki.pdfs import make_pdf
from tests.unit.signing import foreign_pdfs as F
from tests.unit.signing.test_pdf_verify_kit import TEST_SET, asn1, base_pdf, sign, trust_store


def _sign_lt(pdf: bytes, pki: TestPki, name: str, field: str) -> bytes:
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    p12, password, _ = pki.signer(name)
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=password)
    root = asn1_x509.Certificate.load(pem.unarmor(pki.root_pem_path.read_bytes())[2])
    vc = ValidationContext(trust_roots=[root], allow_fetching=True, revocation_mode="soft-fail", moment=pki.now)
    meta = signers.PdfSignatureMetadata(
        field_name=field, subfilter=fields.SigSeedSubFilter.PADES, embed_validation_info=True, validation_context=vc
    )
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer,
        timestamper=timestamps.HTTPTimeStamper(pki.tsa_url),
    )
    return out.getvalue()


# --- --foreign (issue 18) ---

EDOC = str(Path(sys.executable).with_name("edoc"))


def _corpus(pki: TestPki) -> dict[str, bytes]:
    pdf = base_pdf()
    rsa = sign(pdf, pki, "good-rsa")
    key, cert, chain = F.signer_material(pki, "good-rsa")
    ekey, ecert, _ = F.signer_material(pki, "good-ec")
    old_m = re.search(rb"/M \([^)]*\)", rsa)
    assert old_m is not None
    at = rsa.index(b"/DCTDecode") + 300
    return {
        "B-B RSA": rsa,
        "B-T ECDSA": sign(pdf, pki, "good-ec", timestamp=True),
        "B-LT, 2 signatures": _sign_lt(_sign_lt(pdf, pki, "good-rsa", "Signer"), pki, "good-ec", "Organisation"),
        "B-LTA + 2nd doc timestamp": _lta(pdf, pki),
        "Ed25519": F.eddsa_signed(pdf, pki),
        "/M without offset": F.patch_and_resign(
            rsa, lambda d: F.build_cms(d, key, cert, chain),
            ((old_m[0], b"/M (D:20260601020000)".ljust(len(old_m[0]))),),
        ),
        "adbe.pkcs7.sha1": F.patch_and_resign(
            rsa, lambda d: F.build_cms(d, key, cert, chain, digest="sha1", legacy_sha1=True),
            ((b"/ETSI.CAdES.detached", b"/adbe.pkcs7.sha1    "),),
        ),
        "plain ECDSA": F.patch_and_resign(
            sign(pdf, pki, "good-ec"), lambda d: F.build_cms(d, ekey, ecert, chain, plain_ecdsa=True)
        ),
        "tampered": rsa[:at] + bytes([rsa[at] ^ 1]) + rsa[at + 1 :],
    }


def _lta(pdf: bytes, pki: TestPki) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko_certvalidator import ValidationContext

    vc = ValidationContext(trust_roots=[asn1(pki.root_cert)], allow_fetching=True, revocation_mode="soft-fail",
                           moment=pki.now)
    p12, pw, _ = pki.signer("good-rsa")
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=pw)
    meta = signers.PdfSignatureMetadata(field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES,
                                        embed_validation_info=True, use_pades_lta=True, validation_context=vc)
    tsa = timestamps.HTTPTimeStamper(pki.tsa_url)
    lta = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, timestamper=tsa)
    out = signers.PdfTimeStamper(tsa, field_name="DocTs2").timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(lta.getvalue())), "sha256", vc
    )
    return out.getvalue()


def _pyhanko(pki: TestPki) -> Callable[[bytes], str]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    root = asn1(pki.root_cert)

    def check(data: bytes) -> str:
        vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail", moment=pki.now)
        try:
            reader = PdfFileReader(io.BytesIO(data), strict=False)
            verdicts = [validate_pdf_signature(e, vc).bottom_line for e in reader.embedded_regular_signatures]
            verdicts += [validate_pdf_timestamp(e, vc).valid for e in reader.embedded_timestamp_signatures]
            return "ok" if all(verdicts) else "not valid"
        except Exception as exc:
            return type(exc).__name__

    return check


def _times(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm-up (imports, caches)
    wall = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
    wall.sort()
    return statistics.median(wall), wall[max(0, round(0.95 * len(wall)) - 1)]


def _process(args: list[str], runs: int) -> float:
    wall = []
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, capture_output=True, env=env, check=False)
        wall.append(time.perf_counter() - t0)
    return statistics.median(wall)


def run_foreign(*, runs: int, batch: int, cli_runs: int) -> None:
    """Issue 18's figures (``--foreign``), printed as the module's docstring says."""
    logging.disable(logging.WARNING)
    print(f"calibration {calibration_ms():.0f} ms (bench/harness.py)")
    with tempfile.TemporaryDirectory() as tmp, running_test_pki(Path(tmp) / "pki") as pki:
        corpus = _corpus(pki)
        store = trust_store(pki)
        policy = RevocationPolicy(mode=RevocationMode.SOFT_FAIL, offline=True)
        theirs = _pyhanko(pki)
        print(f"{'class':28} {'ours':>22} {'p50 ms':>7} {'p95 ms':>7} {'pyHanko':>12} {'p50 ms':>7} {'p95 ms':>7}")
        ratios = []
        for name, data in corpus.items():
            report = verify_pdf(data, trust=store, anchor_sets=[TEST_SET], revocation=policy, at=pki.now)
            ours = _times(lambda d=data: verify_pdf(d, trust=store, anchor_sets=[TEST_SET], revocation=policy,
                                                    at=pki.now), runs)
            base = _times(lambda d=data: theirs(d), runs)
            sub = report.sub_indication
            verdict = report.indication.value[:13] + ("/" + sub.value[:8] if sub else "")
            print(f"{name:28} {verdict:>22} {ours[0] * 1e3:7.1f} {ours[1] * 1e3:7.1f} {theirs(data):>12} "
                  f"{base[0] * 1e3:7.1f} {base[1] * 1e3:7.1f}")
            ratios.append(ours[0] / base[0])
        in_process = statistics.median(ratios)
        _startup_and_batch(Path(tmp), pki, corpus, batch, cli_runs, in_process)


def _startup_and_batch(
    tmp: Path, pki: TestPki, corpus: dict[str, bytes], batch: int, cli_runs: int, in_process: float
) -> None:
    trust = ["--trust", str(pki.root_pem_path), "--offline", "--soft-fail"]
    not_pdf = tmp / "not-a-pdf.pdf"
    not_pdf.write_bytes(b"hello")
    one = tmp / "one.pdf"
    one.write_bytes(corpus["B-B RSA"])
    startup = _process([EDOC, "verify", str(not_pdf), *trust], 5)
    floor = _process([sys.executable, "-c", "import pyhanko.sign.validation, pyhanko.pdf_utils.reader"], 5)
    bare = _process([sys.executable, "-c", "pass"], 5)
    single = _process([EDOC, "verify", str(one), *trust], 3)
    print(f"CLI start-up (edoc verify, to the file read): {startup * 1e3:.0f} ms; importing pyHanko's validation: "
          f"{floor * 1e3:.0f} ms; bare python: {bare * 1e3:.0f} ms; edoc verify on one signed file: "
          f"{single * 1e3:.0f} ms")
    folder = tmp / "batch"
    folder.mkdir()
    datas = list(corpus.values())
    for i in range(batch):
        (folder / f"{i:03d}.pdf").write_bytes(datas[i % len(datas)])
    t0 = time.perf_counter()
    subprocess.run([EDOC, "verify", str(folder), "--json", *trust], capture_output=True, check=False)
    together = time.perf_counter() - t0
    files = sorted(folder.iterdir())
    per_run = statistics.mean(
        _process([EDOC, "verify", str(files[i % len(files)]), *trust], 1) for i in range(cli_runs)
    )
    separate = per_run * batch
    ratio = together / separate
    print(f"batch of {batch} files: one process {together:.1f} s; {batch} CLI runs ≈ {separate:.1f} s "
          f"(mean of {cli_runs} timed runs × {batch}); ratio {ratio:.2f}")
    print(f"target in-process ≤ 0.5x pyHanko: median ratio over classes {in_process:.2f}x: "
          f"{'met' if in_process <= 0.5 else 'NOT met'}")
    print(f"target start-up ≤ 0.25 s: {startup:.3f} s: {'met' if startup <= 0.25 else 'NOT met'}")
    print(f"target batch ≤ 0.3x separate runs: {ratio:.2f}x: {'met' if ratio <= 0.3 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--foreign", action="store_true", help="issue 18: file classes, start-up, batch")
    parser.add_argument("--batch", type=int, default=100, help="files in the batch comparison (--foreign)")
    parser.add_argument("--cli-runs", type=int, default=10, help="CLI runs timed for the batch estimate")
    args = parser.parse_args()
    if args.foreign:
        run_foreign(runs=args.runs, batch=args.batch, cli_runs=args.cli_runs)
        return
    logging.disable(logging.WARNING)  # pyHanko logs every soft finding with a traceback
    calibration = calibration_ms()
    with tempfile.TemporaryDirectory() as tmp, running_test_pki(Path(tmp)) as pki:
        import hashlib

        from asn1crypto import pem

        der = pem.unarmor(pki.root_pem_path.read_bytes())[2]
        trust = TrustStore.from_config({"test": [AnchorConfig(pki.root_pem_path, hashlib.sha256(der).hexdigest())]})
        pdf = make_pdf(pages=args.pages, size=30_000 * args.pages)
        pdf = _sign_lt(_sign_lt(pdf, pki, "good-rsa", "Signer"), pki, "good-ec", "Organisation")
        policy = RevocationPolicy()
        report = verify_pdf(pdf, trust=trust, revocation=policy, at=pki.now)  # warms the cache
        assert report.indication.value == "TOTAL_PASSED", report.to_json()
        wall, cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            verify_pdf(pdf, trust=trust, revocation=policy, at=pki.now)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(f"verify_pdf, 2-signature B-LT, {len(pdf):,} bytes, {args.runs} runs, network fetches after warm-up: "
              f"{policy.cache.fetches}; calibration {calibration:.0f} ms (bench/harness.py)")
        print(f"p50 {statistics.median(wall) * 1000:.1f} ms wall, {statistics.median(cpu) * 1000:.1f} ms CPU; "
              f"p90 {statistics.quantiles(wall, n=10)[-1] * 1000:.1f} ms wall")
        # For comparison (not the target): a policy created per call keeps no parsed certificates, OCSP responses
        # or CRLs, so every call parses them afresh (offline, so the live responders are not asked again).
        cold = []
        for _ in range(min(args.runs, 10)):
            c0 = time.process_time()
            verify_pdf(pdf, trust=trust, revocation=RevocationPolicy(offline=True), at=pki.now)
            cold.append(time.process_time() - c0)
        print(f"with a new (empty) policy per call: median {statistics.median(cold) * 1000:.1f} ms CPU")


if __name__ == "__main__":
    main()
