"""Verification speed: p50 of verify_pdf on a two-signature PAdES B-LT file with revocation data cached.

Issue 3 target: ≤ 30 ms p50. Run: ``.venv/bin/python -m bench.verify [--runs N] [--pages P]``. Figures of past
runs: docs/performance.md.

Issue 18 (``--foreign``, in ``bench/verify_foreign.py``): per file class, in-process p50/p95 beside pyHanko's own
validation of the same file, the CLI's start-up beside pyHanko's import time, and a batch of 100 files in one
process against 100 CLI runs.
The file is signed here with pyHanko (signer, then organisation, both B-LT against the test PKI's live
OCSP/CRL/TSA); verification runs with one long-lived RevocationPolicy, as the service does (its cache keeps
fetched revocation data and the parsed certificates, OCSP responses and CRLs met in documents). A second line
shows the cost with a new policy per call, which keeps nothing between calls. The machine is shared: compare
runs made at the same time, and prefer the CPU figure when the load is high.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import tempfile
import time
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator import ValidationContext

from bench.harness import calibration_ms
from signing.pdf.revocation import RevocationPolicy
from signing.pdf.trust import AnchorConfig, TrustStore
from signing.pdf.verify import verify_pdf
from tests.support.pki import TestPki, running_test_pki
from tests.support.pki.pdfs import make_pdf


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--foreign", action="store_true", help="issue 18: file classes, start-up, batch")
    parser.add_argument("--batch", type=int, default=100, help="files in the batch comparison (--foreign)")
    parser.add_argument("--cli-runs", type=int, default=10, help="CLI runs timed for the batch estimate")
    args = parser.parse_args()
    if args.foreign:
        from bench.verify_foreign import run

        run(runs=args.runs, batch=args.batch, cli_runs=args.cli_runs)
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
