"""Peak extra memory of signing and verifying a large edXML package through the streaming file API.

    .venv/bin/python bench/xmldsig_memory.py                 # 100 MB attachment, ~135 MB of XML
    .venv/bin/python bench/xmldsig_memory.py --attachment-mb 22 --json

Each operation runs in a fresh interpreter; "peak extra" is the process's peak RSS (ru_maxrss) minus its RSS just
before the operation, so it counts lxml/expat C allocations that tracemalloc cannot see.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def write_package(path: Path, attachment_mb: int) -> None:
    head = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">
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


def child(operation: str, src: Path, dst: Path, key_file: Path) -> None:
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


def run(attachment_mb: int, workdir: Path) -> list[dict[str, object]]:
    from signing.demo import create_demo_pkcs12

    key_file, src, dst = workdir / "demo.p12", workdir / "big.edxml", workdir / "big.signed.edxml"
    create_demo_pkcs12(key_file, common_name="bench", organization="bench", password=None)
    write_package(src, attachment_mb)
    results = []
    for operation, path in (("sign", src), ("verify", dst)):
        command = [sys.executable, __file__, "--child", operation, str(path), str(dst), str(key_file)]
        done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
        result = json.loads(done.stdout)
        result["file_size"] = path.stat().st_size
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attachment-mb", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("OP", "SRC", "DST", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        op, src, dst, key = args.child
        child(op, Path(src), Path(dst), Path(key))
        return
    with tempfile.TemporaryDirectory() as folder:
        results = run(args.attachment_mb, Path(folder))
    if args.json:
        print(json.dumps(results))
        return
    for r in results:
        size, extra = int(r["file_size"]), int(r["peak_extra"])  # type: ignore[call-overload]
        print(
            f"{r['operation']:>6}: file {size / 2**20:7.1f} MiB  peak extra {extra / 2**20:6.1f} MiB "
            f"({extra / size:.2f}× file)  {float(r['seconds']):5.1f} s  -> {r['outcome']}"  # type: ignore[arg-type]
        )


if __name__ == "__main__":
    main()
