"""A SoftHSM2 token, created in a private directory, holding a test signer's key and certificate.

SoftHSM reads ``SOFTHSM2_CONF`` when the module is initialised, so the caller must set that variable in the
environment of the process (or subprocess) that loads ``libsofthsm2.so``; :func:`create_token` returns it.
The key is imported with python-pkcs11 (no opensc tools needed).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SOFTHSM_MODULE_CANDIDATES", "SoftHsmToken", "create_token", "find_softhsm_module"]

SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class SoftHsmToken:
    module_path: str
    token_label: str
    pin: str
    key_label: str
    conf_path: Path

    def __repr__(self) -> str:  # the PIN stays out of logs even in tests
        return (
            f"SoftHsmToken(module={self.module_path!r}, token={self.token_label!r}, key={self.key_label!r})"
        )


def find_softhsm_module() -> str | None:
    return next((p for p in SOFTHSM_MODULE_CANDIDATES if Path(p).is_file()), None)


def create_token(
    directory: Path,
    module_path: str,
    key_pem: bytes,
    cert_der: bytes,
    chain_der: tuple[bytes, ...] = (),
    *,
    token_label: str = "edoc-test",
    key_label: str = "signer",
    pin: str = "123456",
) -> SoftHsmToken:
    """Initialise a fresh token under ``directory`` and import the RSA key + certificate into it.

    The current process's ``SOFTHSM2_CONF`` must already point at ``directory / "softhsm2.conf"`` (use
    :func:`write_conf` first) because python-pkcs11 loads the module in-process.
    """
    conf = write_conf(directory)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            token_label,
            "--pin",
            pin,
            "--so-pin",
            "654321",
        ],
        check=True,
        capture_output=True,
        env={"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"},
    )
    _import_objects(module_path, token_label, pin, key_label, key_pem, cert_der, chain_der)
    return SoftHsmToken(module_path, token_label, pin, key_label, conf)


def write_conf(directory: Path) -> Path:
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    return conf


def _import_objects(
    module_path: str,
    token_label: str,
    pin: str,
    key_label: str,
    key_pem: bytes,
    cert_der: bytes,
    chain_der: tuple[bytes, ...],
) -> None:
    import pkcs11
    from cryptography.hazmat.primitives import serialization
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.rsa import decode_rsa_private_key
    from pkcs11.util.x509 import decode_x509_certificate

    key = serialization.load_pem_private_key(key_pem, password=None)
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    key_id = b"\x01"
    token = pkcs11.lib(module_path).get_token(token_label=token_label)
    with token.open(rw=True, user_pin=pin) as session:
        attrs = decode_rsa_private_key(key_der)
        attrs.update(
            {
                Attribute.TOKEN: True,
                Attribute.LABEL: key_label,
                Attribute.ID: key_id,
                Attribute.SIGN: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
            }
        )
        session.create_object(attrs)
        cert_attrs = decode_x509_certificate(cert_der)
        cert_attrs.update(
            {
                Attribute.TOKEN: True,
                Attribute.LABEL: key_label,
                Attribute.ID: key_id,
                Attribute.CLASS: ObjectClass.CERTIFICATE,
            }
        )
        session.create_object(cert_attrs)
        for index, ca_der in enumerate(chain_der):
            ca_attrs = decode_x509_certificate(ca_der)
            ca_attrs.update(
                {
                    Attribute.TOKEN: True,
                    Attribute.LABEL: f"ca-{index}",
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                }
            )
            session.create_object(ca_attrs)
