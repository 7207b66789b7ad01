"""XML-DSig of edXML packages: CPU to sign one package the gateway built (the general path against the
canonical one), and with ``--memory`` the peak memory of signing and verifying a large package from a file.

(PDF signatures: bench/signing.py.)

    .venv/bin/python bench/xml_signing.py [--kb 100] [--calls 200] [--rounds 7]
    .venv/bin/python bench/xml_signing.py --memory [--attachment-mb 100] [--json]

The package is what a native submit builds: a header, a trace, one PDF attachment of ``--kb`` KB (135 KB of XML
for 100 KB), signed with the gateway's RSA-2048 test key. ``general`` is ``signing.xmldsig.sign_package``: parse,
lxml's C14N, append the Signature, serialize. ``canonical`` is what the gateway does with the packages it builds
(``service.exchange.compose.sign_built``): the writer's bytes are canonical already, so they are hashed as they
are and the Signature is spliced in. Both run in turn within each round; the figures are medians over the rounds
of this process's CPU per signature.

A second table isolates the Signature element, which every signed package needs (three per document: the
package and the two automatic 01 statuses): ``laid out`` builds it with lxml for each signature (SignedInfo, its
C14N, KeyInfo with the certificate's base64, the element's C14N), as the gateway did before 2026-12-03;
``template`` is ``signing.xmldsig.sign._build_signature``, which lays it out once per key and namespace context and then
only joins the digest and the signature value into it; ``key operation`` is the RSA signature alone, the floor of
both.

``--memory`` (formerly bench/xmldsig_memory.py; tests/unit/signing/test_xmldsig.py runs it with 22 MB): a package
with one random attachment of ``--attachment-mb`` MB (about 1.35x that in XML) is signed with
``sign_package_file`` and then verified with ``verify_package_file``, each in a fresh interpreter; "peak extra" is
the process's peak RSS (ru_maxrss) minus its RSS just before the operation, so it counts lxml/expat C allocations
that tracemalloc cannot see. Figures of past runs: docs/performance.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import calibration_ms
from schemas.edxml import build_edoc
from service.exchange.clock import vn_wall_clock
from service.exchange.compose import FileInput, edoc_from_header, header_from_json, sign_built
from service.wiring import build_gateway
from signing import xmldsig
from signing.xmldsig import sign as xsign
from signing.xmldsig import sign_package
from tests.support.gateway import A, B, C, make_settings, provision
from tests.support.pdfs import simple_pdf

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--memory", action="store_true", help="peak memory of the streaming file API instead")
    parser.add_argument("--attachment-mb", type=int, default=100, help="--memory: the attachment's size")
    parser.add_argument("--json", action="store_true", help="--memory: print the results as JSON")
    parser.add_argument("--child", nargs=4, metavar=("OP", "SRC", "DST", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        op, src, dst, key = args.child
        memory_child(op, Path(src), Path(dst), Path(key))
    elif args.memory:
        memory(args.attachment_mb, args.json)
    else:
        cpu(args)


def cpu(args: argparse.Namespace) -> None:
    from schemas.edxml import TraceHeader

    with tempfile.TemporaryDirectory(prefix="edoc-bench-sign-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'sign.sqlite3'}"
        provision(url, Path(tmp), prefix="bench")
        gw = build_gateway(make_settings(url, Path(tmp)))
        try:
            header = header_from_json({"from": A, "to": [B, C], "code": {"number": "1", "notation": "BS"},
                                       "subject": "Văn bản đo chữ ký"})
            pdf = simple_pdf(4, pad_to=args.kb * 1000)
            with gw.sessions() as session:
                pkg = edoc_from_header(session, header, [FileInput("a.pdf", "application/pdf", data=pdf)])
            xml = build_edoc(pkg.with_trace(TraceHeader(organ_id=A, timestamp=vn_wall_clock())))
            key = gw.node_key
            paths = {"general": sign_package, "canonical": sign_built}
            cpu: dict[str, list[float]] = {name: [] for name in paths}
            context, digest = {"": xmldsig.EDXML_NS, "edXML": xmldsig.EDXML_NS}, b"\x5a" * 32

            def laid_out() -> None:  # the element built with lxml for each signature
                signed_info, _ = xsign._lay_out_signature(key, base64.b64encode(digest).decode(), "", context)
                value = base64.b64encode(xsign._sign_bytes(key, signed_info)).decode()
                xsign._lay_out_signature(key, base64.b64encode(digest).decode(), value, context)

            elements = {
                "laid out": laid_out,
                "template": lambda: xsign._build_signature(key, digest, context),
                "key operation": lambda: xsign._sign_bytes(key, b"\x5a" * 700),
            }
            element_cpu: dict[str, list[float]] = {name: [] for name in elements}
            calibration = calibration_ms()
            for _ in range(args.rounds):
                for name, sign in paths.items():
                    started = time.process_time()
                    for _ in range(args.calls):
                        sign(xml, key)
                    cpu[name].append((time.process_time() - started) * 1000 / args.calls)
                for name, make in elements.items():
                    started = time.process_time()
                    for _ in range(args.calls):
                        make()
                    element_cpu[name].append((time.process_time() - started) * 1000 / args.calls)
        finally:
            gw.close()
    general = statistics.median(cpu["general"])
    print(f"\nsign one built package of {len(xml) / 1000:.0f} KB (RSA-2048), {args.calls} calls x {args.rounds} "
          f"rounds, medians; calibration {calibration:.0f} ms")
    for name, runs in cpu.items():
        median = statistics.median(runs)
        print(f"{name:<10}{median:>8.3f} ms{median / general:>8.2f}x")
    laid = statistics.median(element_cpu["laid out"])
    key_op = statistics.median(element_cpu["key operation"])
    print("\nthe Signature element alone (same key, the writer's namespace context)")
    for name, runs in element_cpu.items():
        median = statistics.median(runs)
        print(f"{name:<14}{median:>8.3f} ms{median / laid:>8.2f}x   beyond the key operation: {median - key_op:.3f} ms")



# ------------------------------------------------------------------------------------------------ --memory


def write_package(path: Path, attachment_mb: int) -> None:
    """An unsigned edXML package with one random attachment of ``attachment_mb`` MB, base64 in 76-column lines."""
    ns = xmldsig.EDXML_NS
    head = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{ns}">
  <edXML:edXMLEnvelope xmlns:edXML="{ns}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader><edXML:Subject>Công văn về việc triển khai</edXML:Subject></edXML:MessageHeader>
    </edXML:edXMLHeader>
    <edXML:edXMLBody><edXML:edXMLManifest version="1.0"/></edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment><ContentId>cid:1</ContentId><ContentTransferEncoded>"""
    block = base64.encodebytes(os.urandom(57 * 16384))  # 76-column lines, as MIME tools write them
    with open(path, "wb") as out:
        out.write(head.encode())
        for _ in range(max(1, attachment_mb * 1024 * 1024 // (57 * 16384))):
            out.write(block)
        out.write(b"</ContentTransferEncoded></Attachment>\n  </AttachmentEncoded>\n</edXML>\n")


def memory_child(operation: str, src: Path, dst: Path, key_file: Path) -> None:
    """In a fresh interpreter: sign ``src`` into ``dst`` or verify ``src``; print the peak extra RSS as JSON."""
    import resource

    import psutil

    from signing.keys import load_pkcs12
    from signing.xmldsig import sign_package_file, verify_package_file

    key = load_pkcs12(key_file, None)
    before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    if operation == "sign":
        sign_package_file(src, dst, key)
        outcome = "signed"
    else:
        outcome = verify_package_file(src).code
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"operation": operation, "outcome": outcome, "peak_extra": peak - before, "seconds": seconds}))


def memory(attachment_mb: int, as_json: bool) -> None:
    from signing.demo import create_demo_pkcs12

    results = []
    with tempfile.TemporaryDirectory(prefix="edoc-bench-xmlmem-") as folder:
        workdir = Path(folder)
        key_file, src, dst = workdir / "demo.p12", workdir / "big.edxml", workdir / "big.signed.edxml"
        create_demo_pkcs12(key_file, common_name="bench", organization="bench", password=None)
        write_package(src, attachment_mb)
        for operation, path in (("sign", src), ("verify", dst)):
            command = [sys.executable, __file__, "--child", operation, str(path), str(dst), str(key_file)]
            done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
            result = json.loads(done.stdout)
            result["file_size"] = path.stat().st_size
            results.append(result)
    if as_json:
        print(json.dumps(results))
        return
    for r in results:
        size, extra = int(r["file_size"]), int(r["peak_extra"])
        print(
            f"{r['operation']:>6}: file {size / 2**20:7.1f} MiB  peak extra {extra / 2**20:6.1f} MiB "
            f"({extra / size:.2f}x file)  {float(r['seconds']):5.1f} s  -> {r['outcome']}"
        )


if __name__ == "__main__":
    main()
