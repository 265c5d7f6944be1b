"""TLS listeners: ipptool over ipps:// and curl over https:// reach printgate with the
self-signed certificate it makes on first start; TLS 1.1 is refused; SIGHUP loads a new
certificate while a connection opened before it keeps working."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.peers import Printgate, find_binary, free_port, ipptool, wait_for


def _tls_gateway(make: Callable[..., Printgate], tmp_path: Path) -> tuple[Printgate, int]:
    port = free_port()
    gw = make(
        {
            "server": {"tls": True, "tls_listen": [f"127.0.0.1:{port}"]},
            "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
            "queues": [{"name": "q", "printers": ["v"]}],
        }
    )
    return gw, port


def _fingerprint(port: int) -> str:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der
    return x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256()).hex()


def test_ipps_and_https_with_the_self_signed_certificate(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    gw, port = _tls_gateway(printgate_factory, tmp_path)
    assert (gw.data_dir / "tls" / "printgate.crt").exists()
    assert (gw.data_dir / "tls" / "printgate.key").stat().st_mode & 0o077 == 0
    uri = f"ipps://127.0.0.1:{port}/ipp/print/q"
    result = ipptool(uri, "get-printer-attributes.test")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = ipptool(uri, "get-printer-attributes.test", extra=["-v"])
    assert "printer-uri-supported (uri) = ipps://" in shown.stdout
    assert "uri-security-supported (keyword) = tls" in shown.stdout

    curl = find_binary("curl")
    page = subprocess.run(
        [
            curl,
            "-sS",
            "-k",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{ssl_verify_result}",
            f"https://127.0.0.1:{port}/healthz",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert page.returncode == 0 and page.stdout.startswith("200"), page.stderr
    cert = gw.data_dir / "tls" / "printgate.crt"
    verified = subprocess.run(
        [
            curl,
            "-sS",
            "--cacert",
            str(cert),
            "--resolve",
            f"localhost:{port}:127.0.0.1",
            f"https://localhost:{port}/healthz",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert verified.returncode == 0 and verified.stdout == "ok\n", verified.stderr
    # The plain listener still serves ipp://.
    assert ipptool(gw.queue_uri("q"), "get-printer-attributes.test").returncode == 0


def test_tls_1_1_is_refused_and_1_2_accepted(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    _, port = _tls_gateway(printgate_factory, tmp_path)
    openssl = find_binary("openssl")

    def handshake(*version: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                openssl,
                "s_client",
                "-connect",
                f"127.0.0.1:{port}",
                *version,
                "-cipher",
                "DEFAULT:@SECLEVEL=0",
            ],
            input="",
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    old = handshake("-tls1_1")
    assert old.returncode != 0
    assert "Cipher is (NONE)" in old.stdout or "alert" in old.stderr.lower(), old.stdout
    current = handshake("-tls1_2")
    assert current.returncode == 0, current.stderr
    assert "Protocol  : TLSv1.2" in current.stdout or "TLSv1.2" in current.stdout


def test_sighup_loads_a_new_certificate_without_dropping_connections(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    gw, port = _tls_gateway(printgate_factory, tmp_path)
    before = _fingerprint(port)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    kept = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5))
    try:
        # A renewed certificate: here a fresh self-signed one in place of the old.
        for name in ("printgate.crt", "printgate.key"):
            (gw.data_dir / "tls" / name).unlink()
        from gateway.runtime.tls import ensure_self_signed, tls_files

        ensure_self_signed(tls_files(gw.data_dir, "", ""), ["localhost"])
        assert gw.pid is not None
        os.kill(gw.pid, signal.SIGHUP)
        wait_for(lambda: _fingerprint(port) != before, 10, what="the new certificate served")
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := kept.recv(4096):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply
        assert gw.running
    finally:
        kept.close()


def test_the_configured_certificate_and_key_are_served(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    openssl = find_binary("openssl")
    cert, key = tmp_path / "site.crt", tmp_path / "site.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=printgate.example.org", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    gw = printgate_factory(
        {
            "server": {
                "tls": True,
                "tls_listen": [f"127.0.0.1:{port}"],
                "tls_cert": str(cert),
                "tls_key": str(key),
            },
            "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
            "queues": [{"name": "q", "printers": ["v"]}],
        }
    )
    expected = x509.load_pem_x509_certificate(cert.read_bytes()).fingerprint(hashes.SHA256())
    assert _fingerprint(port) == expected.hex()
    assert not (gw.data_dir / "tls").exists()  # no self-signed pair when one is given
