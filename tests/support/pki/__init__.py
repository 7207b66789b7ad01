"""A throw-away PKI for tests and benchmarks, with live OCSP, CRL and TSA endpoints at a pinned time.

Usage outside pytest (e.g. ``bench/``)::

    with running_test_pki(tmp_dir) as pki:
        p12_path, password, cert = pki.signer("good-rsa")

In tests, use the ``test_pki`` fixture of :mod:`tests.support.pki.fixtures`. See README.md beside this file.
"""

from __future__ import annotations

from tests.support.pki.arch import PINNED_NOW, SIGNER_NAMES
from tests.support.pki.core import TestPki, running_test_pki

__all__ = ["PINNED_NOW", "SIGNER_NAMES", "TestPki", "running_test_pki"]
