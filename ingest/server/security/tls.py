"""TLS on HTTP as Elasticsearch 8 sets it up: a self-signed CA and an HTTP certificate under the home.

``ingest security enable`` writes ``$INGEST_HOME/certs/http_ca.crt`` (the CA, to give clients),
``http.crt`` (the server certificate followed by the CA, so that clients pinning the CA's fingerprint find it in
the chain) and ``http.key`` (0600, in a 0700 folder). The CA's private key is never written: a new certificate
means a new CA (``ingest security enable --new-certificates``). The printed fingerprint is the SHA-256 of the CA
certificate (DER), the form the official client's ``ssl_assert_fingerprint`` takes.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class HttpCerts:
    """Where the home's HTTP certificate lives."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "http_ca.crt"

    @property
    def cert(self) -> Path:
        return self.folder / "http.crt"

    @property
    def key(self) -> Path:
        return self.folder / "http.key"

    def exist(self) -> bool:
        """Whether a certificate was generated."""
        return self.cert.exists() and self.key.exists() and self.ca.exists()

    def fingerprint(self) -> str:
        """SHA-256 of the CA certificate, lowercase hex (what ``ssl_assert_fingerprint`` takes)."""
        return fingerprint_of(self.ca.read_bytes())


def home_certs(home: Path) -> HttpCerts:
    """The certificate folder of a home."""
    return HttpCerts(home / "certs")


def fingerprint_of(pem: bytes) -> str:
    """SHA-256 fingerprint of the first certificate in ``pem``."""
    cert = x509.load_pem_x509_certificate(pem)
    return cert.fingerprint(hashes.SHA256()).hex()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


def generate(certs: HttpCerts, hosts: list[str] | None = None, days: int = 1095) -> str:
    """Generate a CA and an HTTP certificate for ``hosts`` (default: this machine's names); returns the CA
    fingerprint."""
    names = hosts or sorted({"localhost", "127.0.0.1", "::1", socket.gethostname(), socket.getfqdn()})
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ingest security auto-configuration HTTP CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=days))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    certs.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(certs.folder, 0o700)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    _write_private(certs.key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    _write_private(certs.cert, cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    _write_private(certs.ca, ca_pem)
    return fingerprint_of(ca_pem)
