"""CPU of ``check_limits``, the check every package the gateway builds passes before it is signed, on the field's
sample packages; optionally beside another checkout's, in alternation.

    .venv/bin/python bench/package_checks.py [--rounds 7] [--base /path/to/another/checkout]

Each round times ``check_limits`` over every package of ``../shared/samples/edxml/`` (parsed once beforehand), in a
child process that imports the checkout under test (this one, and with ``--base`` the other one, the two
alternating so a slow spell of this shared machine hits both). Figures: per package kind (document, status), the
median over the rounds of the CPU microseconds per check; with ``--base``, the ratio this/base.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples" / "edxml"

# Run in the child, with the checkout under test first on sys.path: prints {"edoc": us, "status": us}.
_CHILD = """
import json, sys, time
from pathlib import Path
from schemas.edxml import check_limits, parse_package
parsed = [parse_package(p.read_bytes()) for p in sorted(Path(sys.argv[1]).glob("*.edxml"))]
kinds = {"edoc": [p.edoc for p in parsed if p.edoc], "status": [p.status for p in parsed if p.status]}
out = {}
for kind, packages in kinds.items():
    for pkg in packages:
        check_limits(pkg)
    n = 2000 // len(packages) + 1
    start = time.process_time()
    for _ in range(n):
        for pkg in packages:
            check_limits(pkg)
    out[kind] = (time.process_time() - start) / (n * len(packages)) * 1e6
print(json.dumps(out))
"""


def one_round(checkout: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(  # cwd too: ``python -c`` puts the working folder first on sys.path
        [sys.executable, "-c", _CHILD, str(SAMPLES)], env=env, cwd=checkout, capture_output=True, text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"error: the check failed under {checkout}: {done.stderr.strip().splitlines()[-1:]}")
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--base", type=Path, default=None, help="another checkout to time beside this one")
    args = parser.parse_args()
    if not SAMPLES.is_dir():
        sys.exit(f"error: no samples at {SAMPLES} (../shared beside the checkout)")
    versions = {"this": ROOT, **({"base": args.base.resolve()} if args.base else {})}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
    for r in range(args.rounds):
        for name in list(versions) if r % 2 == 0 else list(versions)[::-1]:
            runs[name].append(one_round(versions[name]))
    print(f"check_limits over {SAMPLES}: CPU us per package, medians of {args.rounds} rounds")
    for kind in ("edoc", "status"):
        medians = {name: statistics.median(run[kind] for run in runs[name]) for name in versions}
        line = "   ".join(f"{name} {value:7.1f}" for name, value in medians.items())
        ratio = f"   this/base {medians['this'] / medians['base']:.2f}" if "base" in medians else ""
        print(f"{kind:8s} {line}{ratio}")


if __name__ == "__main__":
    main()
