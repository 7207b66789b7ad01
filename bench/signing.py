"""Signing benchmark for issue 3: ``.venv/bin/python bench/signing.py [--runs 21] [--slow-runs 9] [--big-mb 100]
[--verify-runs 30]`` (≈1 minute with the defaults, prints one table).

On a generated 1 MB, 20-page PDF, with the test PKI's "good-rsa" PKCS#12 key (RSA-2048) and its TSA on
127.0.0.1:

* p50 B-B and B-T signing with ``signing.pdf.sign_pdf`` (key source loaded once: it is cached per process);
* the same with a plain default pyHanko call: ``SimpleSigner.load_pkcs12(...)`` + ``signers.sign_pdf(...)``
  per signature (what a straightforward integration does), and, for reference, with the SimpleSigner preloaded;
* the floor: SHA-256 of the file + one private-key operation;
* peak RSS signing a 100 MB PDF (path in, path out), measured in a child process;
* remote signing (issue 23): the gateway's own overhead per remote signature, ``prepare`` + ``finish`` of
  :mod:`signing.remote.interrupted` at B-B (the provider's wait excluded: the value comes from the local CSC test
  server with immediate confirmation, outside the timed part), beside ours B-B, and for reference the whole round
  trip through the CSC adapter (token, authorize, signHash over HTTP on 127.0.0.1, key in memory).
  ``--remote-only`` prints just these rows (a few seconds).

Both sides sign the same bytes with the same key at the same level (PAdES sub-filter); one output of each is
validated with pyHanko against the test root before timings are printed. The verification line comes from
``bench/verify.py``, run in a child process. Figures of past runs: docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS_FAST = 21
RUNS_SLOW = 9
BIG_MB = 100
VERIFY_RUNS = 30


def p50(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up (imports, connection set-up)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def verification_p50_ms(runs: int = 30) -> float | None:
    """p50 verification of a 2-signature B-LT file with cached revocation data (issue 3), measured by
    ``bench/verify.py`` in a child process (its own test PKI; one long-lived RevocationPolicy, as the service
    keeps per gateway). None when that benchmark is missing or fails."""
    import re

    if not (ROOT / "bench" / "verify.py").is_file():
        return None
    child = subprocess.run(
        [sys.executable, "-m", "bench.verify", "--runs", str(runs)], capture_output=True, text=True, cwd=ROOT
    )
    found = re.search(r"p50 ([0-9.]+) ms wall", child.stdout)
    if child.returncode != 0 or found is None:
        print(f"  (verification benchmark failed: {child.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return None
    return float(found.group(1))


def _validate(pki, signed: bytes) -> bool:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(pki.root_cert.public_bytes(Encoding.DER))
    context = ValidationContext(trust_roots=[root], moment=pki.now, allow_fetching=True)
    sigs = PdfFileReader(io.BytesIO(signed)).embedded_regular_signatures
    return all(validate_pdf_signature(s, context).bottom_line for s in sigs)


def remote_rows(data: bytes, pki, key, runs: int) -> dict[str, float]:
    """p50 of ours B-B, of remote prepare+finish (provider excluded) and of the full CSC round trip, in ms."""
    from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

    from signing.pdf import sign_pdf
    from signing.remote import from_url
    from signing.remote.interrupted import finish, prepare, sign_request
    from tests.support.csc_server import SoftwareKey, running_csc_server

    certs = [c.public_bytes(Encoding.DER) for c in (pki.signer("good-rsa")[2], pki.intermediate_cert, pki.root_cert)]
    with running_csc_server() as server:
        server.auto_confirm = True
        server.add_client("bench", "bench-secret")  # TEST ONLY
        pem = pki.key_pem_path("good-rsa").read_bytes()
        server.add_credential("rsa-1", SoftwareKey(load_pem_private_key(pem, None)), certs, pin="1")
        csc = from_url(f"csc+{server.url}?version=2&client_id=bench", client_secret="bench-secret")
        credential = csc.credential("rsa-1")

        def provider(prepared) -> bytes:
            result = csc.start(sign_request([prepared], credential, authorization={"PIN": "1"}))
            return result.signatures[0]

        overhead, round_trip, local = [], [], []
        warm = prepare(data, credential)  # warm-up: imports, caches, the adapter's token
        finish(warm.state, provider(warm))
        sign_pdf(data, key=key, level="B-B")
        for _ in range(runs):  # interleaved with local B-B, so both see the same machine load (2 shared cores)
            t = time.perf_counter()
            sign_pdf(data, key=key, level="B-B")
            local.append(time.perf_counter() - t)
            t0 = time.perf_counter()
            prepared = prepare(data, credential, level="B-B")
            t1 = time.perf_counter()
            value = provider(prepared)
            t2 = time.perf_counter()
            finish(prepared.state, value)
            t3 = time.perf_counter()
            overhead.append((t1 - t0) + (t3 - t2))
            round_trip.append(t3 - t0)
    return {
        "ours B-B, interleaved with the remote rows": statistics.median(local) * 1000,
        "remote B-B: prepare + finish (gateway overhead)": statistics.median(overhead) * 1000,
        "remote B-B: round trip via local CSC server": statistics.median(round_trip) * 1000,
    }


def _print_remote(rows: dict[str, float]) -> None:
    local = rows["ours B-B, interleaved with the remote rows"]
    overhead = rows["remote B-B: prepare + finish (gateway overhead)"]
    for label in rows:
        print(f"  {label:<48} p50 {rows[label]:8.2f} ms")
    print(f"  {'ratio remote overhead / ours B-B':<48} {overhead / local:8.1f} x   (target <= 2)")


def _rss_child(src: str, dst: str, p12: str, password: str) -> None:
    """Child process: sign ``src`` into ``dst`` and print baseline and peak RSS in bytes."""
    import resource

    import psutil

    from signing.pdf import key_source_from_spec, sign_pdf

    key = key_source_from_spec(f"p12:{p12}", secret=password)
    baseline = psutil.Process().memory_info().rss
    sign_pdf(Path(src), key=key, level="B-B", output=Path(dst))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(baseline, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS_FAST, help="timed runs of the fast rows (ours B-B, floor)")
    parser.add_argument("--slow-runs", type=int, default=RUNS_SLOW, help="timed runs of the other rows")
    parser.add_argument("--big-mb", type=int, default=BIG_MB, help="size of the PDF whose signing peak RSS is read")
    parser.add_argument("--verify-runs", type=int, default=VERIFY_RUNS, help="runs of bench/verify.py (0: skip)")
    parser.add_argument("--remote-only", action="store_true", help="only ours B-B and the remote-signing rows")
    args = parser.parse_args()
    if args.remote_only:
        return remote_main(args.runs)
    from bench.harness import calibration_ms  # not at the top: the --rss-child process's baseline stays as it was

    calibration = [calibration_ms()]
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from signing.pdf import key_source_from_spec, sign_pdf
    from tests.support.pki import running_test_pki
    from tests.support.pki.pdfs import write_pdf

    with tempfile.TemporaryDirectory() as tmp, running_test_pki(Path(tmp) / "pki") as pki:
        src = Path(tmp) / "1mb.pdf"
        with open(src, "wb") as out:
            write_pdf(out, pages=20, size=1_000_000)
        data = src.read_bytes()
        p12, password, _ = pki.signer("good-rsa")
        key = key_source_from_spec(f"p12:{p12}", secret=password)

        def ours(level: str) -> bytes:
            return sign_pdf(data, key=key, level=level, tsa_url=pki.tsa_url)  # type: ignore[arg-type]

        def default(timestamped: bool, signer: signers.SimpleSigner | None = None) -> bytes:
            signer = signer or signers.SimpleSigner.load_pkcs12(str(p12), passphrase=password)
            meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
            timestamper = HTTPTimeStamper(pki.tsa_url) if timestamped else None
            writer = IncrementalPdfFileWriter(io.BytesIO(data))
            return signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper).getvalue()

        assert _validate(pki, ours("B-B")) and _validate(pki, default(False)), "a benchmark output does not validate"
        preloaded = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=password)

        def floor() -> None:
            digest = hashlib.sha256(data).digest()
            key.sign_raw(digest, digest_algorithm="sha256", pss=False)

        rows = {
            "ours B-B": p50(lambda: ours("B-B"), args.runs),
            "ours B-T (local TSA)": p50(lambda: ours("B-T"), args.slow_runs),
            "default pyHanko B-B (load PKCS#12 + sign_pdf)": p50(lambda: default(False), args.slow_runs),
            "default pyHanko B-T (load PKCS#12 + sign_pdf)": p50(lambda: default(True), args.slow_runs),
            "default pyHanko B-B, SimpleSigner preloaded": p50(lambda: default(False, preloaded), args.slow_runs),
            "floor (SHA-256 of file + 1 private-key op)": p50(floor, args.runs),
        }
        remote = remote_rows(data, pki, key, args.runs)
        big_src, big_dst = Path(tmp) / "100mb.pdf", Path(tmp) / "100mb-signed.pdf"
        with open(big_src, "wb") as out:
            write_pdf(out, pages=20, size=args.big_mb * 1_000_000)
        child = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(big_src), str(big_dst), str(p12), password.decode()],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        baseline, peak = (int(v) for v in child.stdout.split())
        size = big_src.stat().st_size

    calibration.append(calibration_ms())
    print(
        f"Signing benchmark: {len(data) / 1e6:.2f} MB, 20 pages, RSA-2048 PKCS#12, SHA-256, PAdES; calibration "
        f"{' / '.join(f'{c:.0f}' for c in calibration)} ms (bench/harness.py)"
    )
    for label, ms in rows.items():
        print(f"  {label:<48} p50 {ms:8.2f} ms")
    ours_bb, ours_bt = rows["ours B-B"], rows["ours B-T (local TSA)"]
    default_bb = rows["default pyHanko B-B (load PKCS#12 + sign_pdf)"]
    default_bt = rows["default pyHanko B-T (load PKCS#12 + sign_pdf)"]
    preloaded_bb = rows["default pyHanko B-B, SimpleSigner preloaded"]
    print(
        f"  {'ratio default/ours B-B':<48} {default_bb / ours_bb:8.1f} x"
        f"   (vs preloaded: {preloaded_bb / ours_bb:.1f} x; target >= 4)"
    )
    print(f"  {'ratio default/ours B-T':<48} {default_bt / ours_bt:8.1f} x")
    _print_remote(remote)
    verify = verification_p50_ms(args.verify_runs) if args.verify_runs else None
    if verify is not None:
        print(f"  {'verify 2-signature B-LT, cached revocation':<48} p50 {verify:8.2f} ms (target <= 30)")
    print(
        f"  peak RSS signing a {size / 1e6:.0f} MB PDF (path in, path out): {peak / 1e6:.0f} MB = "
        f"{peak / size:.2f} x file size; above the process baseline of {baseline / 1e6:.0f} MB: "
        f"{(peak - baseline) / 1e6:.0f} MB = {(peak - baseline) / size:.2f} x (target <= 2)"
    )


def remote_main(runs: int) -> None:
    from bench.harness import calibration_ms
    from signing.pdf import key_source_from_spec
    from tests.support.pki import running_test_pki
    from tests.support.pki.pdfs import write_pdf

    calibration = [calibration_ms()]
    with tempfile.TemporaryDirectory() as tmp, running_test_pki(Path(tmp) / "pki") as pki:
        src = Path(tmp) / "1mb.pdf"
        with open(src, "wb") as out:
            write_pdf(out, pages=20, size=1_000_000)
        p12, password, _ = pki.signer("good-rsa")
        rows = remote_rows(src.read_bytes(), pki, key_source_from_spec(f"p12:{p12}", secret=password), runs)
    calibration.append(calibration_ms())
    print(
        f"Remote-signing overhead: 1.00 MB, 20 pages, RSA-2048, SHA-256, PAdES B-B; calibration "
        f"{' / '.join(f'{c:.0f}' for c in calibration)} ms (bench/harness.py)"
    )
    _print_remote(rows)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--rss-child":
        _rss_child(*sys.argv[2:6])
    else:
        main()
