"""CPU to sign one edXML package the gateway built (XML-DSig): the general path against the canonical one.

(PDF signatures: bench/signing.py.)

    .venv/bin/python bench/xml_signing.py [--kb 100] [--calls 200] [--rounds 7]

The package is what a native submit builds: a header, a trace, one PDF attachment of ``--kb`` KB (135 KB of XML
for 100 KB), signed with the gateway's RSA-2048 test key. ``general`` is ``signing.xmldsig.sign_package``: parse,
lxml's C14N, append the Signature, serialize. ``canonical`` is what the gateway does with the packages it builds
(``service.exchange.compose.sign_built``): the writer's bytes are canonical already, so they are hashed as they
are and the Signature is spliced in. Both run in turn within each round; the figures are medians over the rounds
of this process's CPU per signature.

A second table isolates the Signature element, which every signed package needs (three per document: the
package and the two automatic 01 statuses): ``laid out`` builds it with lxml for each signature (SignedInfo, its
C14N, KeyInfo with the certificate's base64, the element's C14N), as the gateway did before 2026-12-03;
``template`` is ``signing.xmldsig._build_signature``, which lays it out once per key and namespace context and then
only joins the digest and the signature value into it; ``key operation`` is the RSA signature alone, the floor of
both.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exchange import calibration_ms, prepare
from schemas.edxml import build_edoc
from service.context import Gateway
from service.exchange.clock import vn_wall_clock
from service.exchange.compose import FileInput, edoc_from_header, header_from_json, sign_built
from signing import xmldsig
from signing.xmldsig import sign_package
from tests.support.gateway import A, B, C, make_settings
from tests.support.pdfs import simple_pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    from schemas.edxml import TraceHeader

    with tempfile.TemporaryDirectory(prefix="edoc-bench-sign-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'sign.sqlite3'}"
        prepare(url, Path(tmp))
        gw = Gateway.from_settings(make_settings(url, Path(tmp)))
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
                signed_info, _ = xmldsig._lay_out_signature(key, base64.b64encode(digest).decode(), "", context)
                value = base64.b64encode(xmldsig._sign_bytes(key, signed_info)).decode()
                xmldsig._lay_out_signature(key, base64.b64encode(digest).decode(), value, context)

            elements = {
                "laid out": laid_out,
                "template": lambda: xmldsig._build_signature(key, digest, context),
                "key operation": lambda: xmldsig._sign_bytes(key, b"\x5a" * 700),
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


if __name__ == "__main__":
    main()
