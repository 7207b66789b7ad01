"""``eark-validator`` (PyPI, the E-ARK CSIP validator) in a virtual environment of its own, for the archive tests.

It pins ``lxml==5.1.0`` while pyHanko needs a newer one, so it cannot live in the project's environment
(schemas/archive/README.md): a session fixture makes a venv under the test session's temporary folder and installs
it there from the package index. At import it fetches four CSIP vocabularies over the network although the same
files ship in its package: the runner below installs a ``urllib`` opener that answers those URLs from
``eark_validator/ipxml/resources/vocabs/``, so validation touches no network. Locally a failed install skips the
tests that need it (with the reason); on CI it fails them. ``EDOC_TEST_EARK_PYTHON`` names an interpreter that
already has it (.ci/run makes one), which saves the install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.env import require

__all__ = ["EarkValidator", "eark_validator"]

VERSION = "1.1.3"

_RUNNER = r'''
import io, json, sys, urllib.request
from importlib.resources import files
from urllib.response import addinfourl

PREFIX = "https://earkcsip.dilcis.eu/schema/"

class Offline(urllib.request.BaseHandler):
    handler_order = 100  # before the default HTTPS handler
    def https_open(self, req):
        url = req.get_full_url()
        if not url.startswith(PREFIX):
            raise urllib.error.URLError("offline: " + url)
        data = (files("eark_validator.ipxml.resources.vocabs") / url[len(PREFIX):]).read_bytes()
        response = addinfourl(io.BytesIO(data), {}, url, 200)
        response.msg = "OK"
        return response

urllib.request.install_opener(urllib.request.build_opener(Offline()))

from eark_validator import packages
from eark_validator.specifications.specification import SpecificationVersion

from pathlib import Path

version = SpecificationVersion(sys.argv[2])
report = packages.PackageValidator(Path(sys.argv[1]), version).validation_report
messages = list(report.structure.messages)
for part in (report.metadata.schema_results, report.metadata.schematron_results):
    messages += list(part.messages)
print(json.dumps({
    "structure": report.structure.status.value,
    "schema": report.metadata.schema_results.status.value,
    "schematron": report.metadata.schematron_results.status.value,
    "messages": [{"rule": m.rule_id, "severity": m.severity.value, "message": m.message, "location": m.location}
                 for m in messages],
}))
'''


@dataclass(frozen=True)
class EarkValidator:
    python: Path
    site_packages: Path

    @property
    def mets_xsd(self) -> Path:
        """METS 1.12 ``mets.xsd`` as shipped inside the eark-validator wheel (with its ``xlink.xsd``)."""
        return self.site_packages / "eark_validator" / "ipxml" / "resources" / "schema" / "mets.xsd"

    def validate(self, folder: Path, version: str = "V2.1.0") -> dict[str, Any]:
        """Structure/schema/schematron status and every message of ``folder`` (an unpacked package)."""
        done = subprocess.run([str(self.python), "-c", _RUNNER, str(folder), version],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def _site_packages(python: Path) -> Path:
    where = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True)
    return Path(where.stdout.strip())


@pytest.fixture(scope="session")
def eark_validator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EarkValidator]:
    """``EDOC_TEST_EARK_PYTHON`` (set by .ci/run: a venv with eark-validator made once) or a venv made now."""
    given = os.environ.get("EDOC_TEST_EARK_PYTHON")
    if given:
        python = Path(given)
        require(python.is_file(), f"EDOC_TEST_EARK_PYTHON={given}: no such interpreter")
        yield EarkValidator(python, _site_packages(python))
        return
    venv = tmp_path_factory.mktemp("eark-validator-venv")
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False)
    require(made.returncode == 0, f"cannot create a venv for eark-validator: {made.stderr[-500:]}")
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", f"eark-validator=={VERSION}"],
                         capture_output=True, text=True, timeout=900, check=False)
    require(pip.returncode == 0, f"cannot install eark-validator {VERSION} from the package index: "
            f"{pip.stderr.strip().splitlines()[-1:] if pip.stderr.strip() else pip.returncode}")
    yield EarkValidator(python, _site_packages(python))
