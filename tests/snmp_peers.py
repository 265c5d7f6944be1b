"""SNMP and SMTP peers on loopback: snmpsim serving printer recordings, net-snmp's snmpd, and an
aiosmtpd server that keeps what it receives. Synchronous, like tests/peers/, so the
benchmarks can use them too; nothing here imports pytest or the gateway.

A missing program is a PeerError naming what to install, never a skip."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from tests.peers import PeerError, _Process, find_binary, wait_for

# A colour laser printer as RFC 3805 / RFC 2790 describe it, with HP's own mono/colour
# counters. {life} is the prtMarkerLifeCount line: a plain value or a rising counter.
HP_COLOR = """\
1.3.6.1.2.1.1.1.0|4|HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1
1.3.6.1.2.1.1.5.0|4|{name}
1.3.6.1.2.1.1.6.0|4|{location}
1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5
1.3.6.1.2.1.25.3.2.1.3.1|4|{model}
1.3.6.1.2.1.25.3.5.1.1.1|{status}
1.3.6.1.2.1.25.3.5.1.2.1|4x|{errors}
1.3.6.1.2.1.43.5.1.1.17.1|4|{serial}
1.3.6.1.2.1.43.10.2.1.3.1.1|2|7
1.3.6.1.2.1.43.10.2.1.4.1.1|{life}
1.3.6.1.2.1.43.11.1.1.4.1.1|2|3
1.3.6.1.2.1.43.11.1.1.4.1.2|2|3
1.3.6.1.2.1.43.11.1.1.4.1.3|2|4
1.3.6.1.2.1.43.11.1.1.4.1.4|2|3
1.3.6.1.2.1.43.11.1.1.5.1.1|2|21
1.3.6.1.2.1.43.11.1.1.5.1.2|2|21
1.3.6.1.2.1.43.11.1.1.5.1.3|2|4
1.3.6.1.2.1.43.11.1.1.5.1.4|2|15
1.3.6.1.2.1.43.11.1.1.6.1.1|4|Black Cartridge HP 212X
1.3.6.1.2.1.43.11.1.1.6.1.2|4|Cyan Cartridge HP 212X
1.3.6.1.2.1.43.11.1.1.6.1.3|4|Toner Collection Unit
1.3.6.1.2.1.43.11.1.1.6.1.4|4|Fuser Kit
1.3.6.1.2.1.43.11.1.1.7.1.1|2|19
1.3.6.1.2.1.43.11.1.1.7.1.2|2|19
1.3.6.1.2.1.43.11.1.1.7.1.3|2|19
1.3.6.1.2.1.43.11.1.1.7.1.4|2|19
1.3.6.1.2.1.43.11.1.1.8.1.1|2|{black_max}
1.3.6.1.2.1.43.11.1.1.8.1.2|2|100
1.3.6.1.2.1.43.11.1.1.8.1.3|2|-2
1.3.6.1.2.1.43.11.1.1.8.1.4|2|100
1.3.6.1.2.1.43.11.1.1.9.1.1|2|{black}
1.3.6.1.2.1.43.11.1.1.9.1.2|2|-3
1.3.6.1.2.1.43.11.1.1.9.1.3|2|-3
1.3.6.1.2.1.43.11.1.1.9.1.4|2|{fuser}
1.3.6.1.2.1.43.18.1.1.2.1.1|2|4
1.3.6.1.2.1.43.18.1.1.4.1.1|2|11
1.3.6.1.2.1.43.18.1.1.7.1.1|2|1101
1.3.6.1.2.1.43.18.1.1.8.1.1|4|Black cartridge low
1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.6.0|65|{mono}
1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.7.0|65|{color}
"""

HP_DEFAULTS = {
    "name": "NPI0A1B2C",
    "location": "Room 204",
    "model": "HP Color LaserJet MFP M480f",
    "serial": "CNB1234567",
    "status": "2|3",
    "errors": "0000",
    "life": "65|12000",
    "black": "7200",
    "black_max": "9000",
    "fuser": "85",
    "mono": "9000",
    "color": "3000",
}


def hp_printer(**values: str) -> str:
    """An .snmprec of the colour printer above; keyword arguments replace the defaults
    (life="65:numeric|initial=1000,rate=50" makes a counter that rises 50 a second)."""
    return HP_COLOR.format(**{**HP_DEFAULTS, **values})


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def snmp_answers(host: str, port: int, community: str = "public") -> bool:
    """Does an agent answer at host:port? Asked with net-snmp's snmpget, not the gateway."""
    result = subprocess.run(
        [
            find_snmp_tool("snmpget"),
            "-v2c",
            "-c",
            community,
            "-t",
            "0.5",
            "-r",
            "0",
            f"{host}:{port}",
            "1.3.6.1.2.1.1.1.0",
        ],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def find_snmp_tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        package = "snmpd" if name == "snmpd" else "snmp"
        raise PeerError(
            f"'{name}' is not installed: apt-get install -y {package} "
            "(bash scripts/test.sh installs every package the tests need)"
        )
    return path


@dataclass
class SnmpSim:
    """One snmpsim command responder serving one recording as community "public" (and the
    SNMPv3 user `v3_user`, SHA/AES), on host:port."""

    base_dir: Path
    snmprec: str
    host: str = "127.0.0.1"
    port: int = 0
    v3_user: str = "printgate"
    v3_auth_key: str = "auth-secret-1"
    v3_priv_key: str = "priv-secret-1"
    _proc: _Process | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> SnmpSim:
        binary = Path(sys.executable).parent / "snmpsim-command-responder"
        if not binary.exists():
            raise PeerError(
                "snmpsim is not installed in the venv: pip install -e '.[test]' "
                "(scripts/test.sh does it)"
            )
        find_snmp_tool("snmpget")
        self.port = self.port or free_udp_port(self.host)
        data = self.base_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "public.snmprec").write_text(self.snmprec)
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
        self._proc = _Process(
            [
                str(binary),
                f"--cache-dir={self.base_dir / 'cache'}",
                "--v3-engine-id=auto",
                f"--data-dir={data}",
                f"--v3-user={self.v3_user}",
                f"--v3-auth-key={self.v3_auth_key}",
                "--v3-auth-proto=SHA",
                f"--v3-priv-key={self.v3_priv_key}",
                "--v3-priv-proto=AES",
                f"--agent-udpv4-endpoint={self.address}",
            ],
            self.base_dir / "snmpsim.log",
            self.base_dir,
            env,
        )
        deadline = time.monotonic() + timeout
        while not snmp_answers(self.host, self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise PeerError(f"snmpsim did not start at {self.address}\n{log[-3000:]}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate(5.0)
            self._proc = None

    def log(self) -> str:
        path = self.base_dir / "snmpsim.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class Snmpd:
    """net-snmp's snmpd answering on many endpoints with printer objects set by `override`
    directives: fast enough to be the load for the poll benchmark."""

    base_dir: Path
    endpoints: list[str]  # "127.0.0.x:port"
    objects: list[tuple[str, str, str]]  # (oid, type, value) for `override`
    sys_object_id: str = ""
    _proc: _Process | None = field(default=None, repr=False)

    def start(self, timeout: float = 30.0) -> Snmpd:
        binary = find_snmp_tool("snmpd")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        conf = self.base_dir / "snmpd.conf"
        lines = [
            "rocommunity public",
            "dontLogTCPWrappersConnects yes",
            "sysLocation Bench room",
        ]
        if self.sys_object_id:
            lines.append(f"sysObjectID {self.sys_object_id}")
        lines += [f"override {oid} {kind} {value}" for oid, kind, value in self.objects]
        conf.write_text("\n".join(lines) + "\n")
        self._proc = _Process(
            [
                binary,
                "-f",
                "-Lf",
                str(self.base_dir / "snmpd.log"),
                "-C",
                "-c",
                str(conf),
                "-p",
                str(self.base_dir / "snmpd.pid"),
                "--persistentDir=" + str(self.base_dir),
                # No SMUX (port 199 may be another snmpd's), no host modules that scan the
                # machine (they would make every walk of hrDeviceTable differ in cost).
                "-I",
                "-smux,hr_device,hr_disk,hr_network,hr_swrun,hr_filesys,hr_storage",
                # The endpoints on the command line: a config line is too short for hundreds.
                ",".join("udp:" + e for e in self.endpoints),
            ],
            self.base_dir / "snmpd.out",
            self.base_dir,
            {**os.environ, "SNMP_PERSISTENT_DIR": str(self.base_dir), "MIBS": ""},
        )
        host, port = self.endpoints[-1].rsplit(":", 1)
        try:
            wait_for(lambda: snmp_answers(host, int(port)), timeout, 0.1, "snmpd answering")
        except TimeoutError as exc:
            self.stop()
            log = self.base_dir / "snmpd.log"
            raise PeerError(f"snmpd did not start: {log.read_text()[-2000:]}") from exc
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate(5.0)
            self._proc = None


class SmtpSink:
    """aiosmtpd on a free loopback port, keeping every message it receives."""

    def __init__(self, host: str = "127.0.0.1", users: dict[str, str] | None = None):
        try:
            from aiosmtpd.controller import Controller
        except ImportError as exc:  # pragma: no cover - the test extra installs it
            raise PeerError("aiosmtpd is not installed: pip install -e '.[test]'") from exc
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                raw = envelope.content  # type: ignore[attr-defined]
                message = email.message_from_bytes(raw, policy=email.policy.default)
                with sink._lock:
                    sink.messages.append(message)  # type: ignore[arg-type]
                return "250 OK"

        port = free_tcp_port(host)
        options: dict[str, object] = {}
        if users is not None:
            from aiosmtpd.smtp import AuthResult

            def check(
                server: object, session: object, envelope: object, mechanism: str, auth_data: object
            ) -> AuthResult:
                login = getattr(auth_data, "login", b"").decode()
                password = getattr(auth_data, "password", b"").decode()
                return AuthResult(success=users.get(login) == password)

            # No TLS in the test server: allow AUTH over plain SMTP (the client decides).
            options = {"authenticator": check, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(Handler(), hostname=host, port=port, **options)
        self.host, self.port = host, port

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def wait(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        return wait_for(
            lambda: len(self.received()) >= count and self.received(),
            timeout,
            0.1,
            f"{count} mails",
        )


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def body(message: EmailMessage) -> str:
    """The plain-text part of a message, with or without attachments."""
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""


def attachments(message: EmailMessage) -> dict[str, bytes]:
    return {
        part.get_filename() or "": part.get_payload(decode=True)
        for part in message.iter_attachments()
    }


__all__ = [
    "HP_DEFAULTS",
    "SmtpSink",
    "SnmpSim",
    "Snmpd",
    "attachments",
    "body",
    "find_binary",
    "free_udp_port",
    "hp_printer",
    "snmp_answers",
]
