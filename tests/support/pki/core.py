"""The :class:`TestPki` object handed to tests: certificates, PKCS#12 files and service URLs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, ServiceLabel
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.support.pki.arch import ARCH, PINNED_NOW, SIGNER_NAMES, UNTRUSTED_ARCH, build_config, generate_keys
from tests.support.pki.server import LocalHttpServer

__all__ = ["TestPki", "running_test_pki"]

P12_PASSWORD = b"edoc-test-p12"  # test-only; every PKCS#12 file of the test PKI uses it


class TestPki:
    """Certificates, key files and live endpoints of one generated PKI (see README.md)."""

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, directory: Path, url_prefix: str, *, now: datetime = PINNED_NOW) -> None:
        self.directory = directory
        self.now = now
        self.key_paths = generate_keys(directory / "keys")
        config = CertomancerConfig(build_config(self.key_paths, url_prefix), key_search_dir=str(directory))
        self._arch = config.get_pki_arch(ArchLabel(ARCH))
        self._untrusted_arch = config.get_pki_arch(ArchLabel(UNTRUSTED_ARCH))
        self.animator = Animator(
            AnimatorArchStore(dict(config.pki_archs)),
            at_time=now,
            with_web_ui=False,
            allow_time_override=False,
        )
        registry = self._arch.service_registry
        self.ocsp_url: str = registry.get_ocsp_info(ServiceLabel("interm")).url
        self.crl_url: str = registry.get_crl_repo_info(ServiceLabel("interm")).latest_external_url
        self.root_crl_url: str = registry.get_crl_repo_info(ServiceLabel("root")).latest_external_url
        self.tsa_url: str = registry.get_tsa_info(ServiceLabel("tsa")).url
        self.root_cert = self._cert(ARCH, "root")
        self.intermediate_cert = self._cert(ARCH, "interm")
        self.ocsp_cert = self._cert(ARCH, "ocsp")
        self.tsa_cert = self._cert(ARCH, "tsa")
        self.untrusted_root_cert = self._cert(UNTRUSTED_ARCH, "untrusted-root")
        self.root_pem_path = self._write_pem("root", self.root_cert)
        self.intermediate_pem_path = self._write_pem("interm", self.intermediate_cert)
        self.tsa_pem_path = self._write_pem("tsa", self.tsa_cert)
        self.untrusted_root_pem_path = self._write_pem("untrusted-root", self.untrusted_root_cert)
        self._signers = {name: self._export_signer(name) for name in SIGNER_NAMES}

    def signer(self, name: str) -> tuple[Path, bytes, x509.Certificate]:
        """``(pkcs12_path, password, certificate)`` of a signer; the PKCS#12 also holds the chain."""
        try:
            return self._signers[name]
        except KeyError:
            raise KeyError(f"unknown test signer {name!r}; known: {', '.join(SIGNER_NAMES)}") from None

    def key_pem_path(self, name: str) -> Path:
        """The unencrypted PKCS#8 PEM private key of a signer (used to import it into SoftHSM)."""
        return self.key_paths[name]

    def revocation_time(self, name: str) -> datetime | None:
        spec = self._arch.get_cert_spec(CertLabel(name))
        return spec.revocation.revoked_since if spec.revocation else None

    def _cert(self, arch: str, label: str) -> x509.Certificate:
        pki_arch = self._arch if arch == ARCH else self._untrusted_arch
        return x509.load_der_x509_certificate(pki_arch.get_cert(CertLabel(label)).dump())

    def _write_pem(self, label: str, cert: x509.Certificate) -> Path:
        path = self.directory / f"{label}.cert.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def _export_signer(self, name: str) -> tuple[Path, bytes, x509.Certificate]:
        pki_arch = self._untrusted_arch if name == "untrusted" else self._arch
        path = self.directory / f"{name}.p12"
        path.write_bytes(pki_arch.package_pkcs12(CertLabel(name), password=P12_PASSWORD))
        cert = x509.load_der_x509_certificate(pki_arch.get_cert(CertLabel(name)).dump())
        self._write_pem(name, cert)
        return path, P12_PASSWORD, cert


@contextmanager
def running_test_pki(directory: Path, *, now: datetime = PINNED_NOW) -> Iterator[TestPki]:
    """Generate a test PKI in ``directory`` and serve its endpoints on 127.0.0.1 until the block exits."""
    server = LocalHttpServer()
    pki = TestPki(directory, server.url, now=now)
    server.attach(pki.animator)
    server.start()
    try:
        yield pki
    finally:
        server.stop()
