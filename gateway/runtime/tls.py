"""TLS for the ipps:// and https:// listeners: the certificate and key from the config, or a
self-signed pair made in data_dir on first start. One SSLContext serves every TLS listener;
reload() loads new material into it, so new handshakes use it while open connections carry on.
TLS 1.2 is the minimum."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)
SELF_SIGNED_DAYS = 3650


class TlsError(RuntimeError):
    """The certificate or key cannot be used; the message says which and why."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    self_signed: bool


def tls_files(data_dir: Path, cert: str, key: str) -> TlsFiles:
    if cert or key:
        if not (cert and key):
            raise TlsError("[server] tls_cert and tls_key go together: set both or neither")
        return TlsFiles(Path(cert), Path(key), self_signed=False)
    directory = data_dir / "tls"
    return TlsFiles(directory / "printgate.crt", directory / "printgate.key", self_signed=True)


def ensure_self_signed(files: TlsFiles, hostnames: list[str] | None = None) -> bool:
    """Make the self-signed pair when it is missing; whether one was made."""
    if not files.self_signed or (files.cert.exists() and files.key.exists()):
        return False
    names = hostnames or _default_names()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files.key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The key is written private from the first byte, then both files appear whole.
    partial_key = files.key.with_suffix(".part")
    fd = os.open(partial_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    partial_key.replace(files.key)
    partial_cert = files.cert.with_suffix(".part")
    partial_cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    partial_cert.replace(files.cert)
    log.info("made a self-signed TLS certificate %s for %s", files.cert, ", ".join(names))
    return True


def _default_names() -> list[str]:
    host = socket.gethostname()
    names = [host, f"{host}.local", "localhost", "127.0.0.1", "::1"]
    return list(dict.fromkeys(n for n in names if n))


class TlsContext:
    """The server's SSLContext and where its material comes from."""

    def __init__(self, files: TlsFiles):
        self.files = files
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.set_alpn_protocols(["http/1.1"])
        self.reload()

    def reload(self) -> None:
        """Load the files again (a renewed certificate); a bad pair keeps the old one."""
        try:
            # Tried on a throwaway context first: a half-loaded pair would break the live one.
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(self.files.cert, self.files.key)
            self.context.load_cert_chain(self.files.cert, self.files.key)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(
                f"cannot use TLS certificate {self.files.cert} with key {self.files.key}: {exc}"
            ) from exc

    def fingerprint(self) -> str:
        certificate = x509.load_pem_x509_certificate(self.files.cert.read_bytes())
        return certificate.fingerprint(hashes.SHA256()).hex(":")
