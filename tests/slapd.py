"""A private OpenLDAP slapd on loopback, filled with a small test directory.

`Slapd` writes a slapd.conf (mdb backend, the core/cosine/inetorgperson/nis schemas from
/etc/ldap/schema) into a directory of its own, loads the entries below with slapadd, and runs
`slapd -d stats` on a free 127.0.0.1 port, logging to a file. It is stopped by PID. Nothing here
imports pytest or the gateway: the peer must not trust the code under test.

A missing program is never a reason to skip: `PeerError` names the Debian package to install.

The directory (base dc=example,dc=org):

    cn=admin                   rootdn (not an entry)
    cn=reader                  service account (organizationalRole + simpleSecurityObject)
    ou=engineering             alice, dave (employeeType: disabled), sam
    ou=sales                   bob, ann(contractor), zoë, sam (a second "sam": ambiguous)
    ou=groups                  cn=printing (groupOfNames: alice, bob)

Access: userPassword is usable for binds only; the reader (and the admin) may read everything;
anonymous clients may read entries only with `anonymous_search=True`.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.peers import PeerError, free_port

__all__ = [
    "ADMIN_DN",
    "ADMIN_PASSWORD",
    "AMBIGUOUS_PASSWORD",
    "AMBIGUOUS_UID",
    "BASE_DN",
    "DISABLED_FILTER",
    "GROUP_DN",
    "READER_DN",
    "READER_PASSWORD",
    "USERS",
    "DirectoryEntry",
    "Slapd",
    "find_binary",
    "running_slapd",
]

BASE_DN = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "admin-secret"
READER_DN = f"cn=reader,{BASE_DN}"
READER_PASSWORD = "reader-secret"
GROUP_DN = f"cn=printing,ou=groups,{BASE_DN}"
# Keeps "dave" out: the filter a [directory] config would use for disabled accounts.
DISABLED_FILTER = "(!(employeeType=disabled))"

SCHEMA_DIR = Path("/etc/ldap/schema")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
MODULE_DIR = Path("/usr/lib/ldap")

_DEBIAN_PACKAGE = {
    "slapd": "slapd",
    "slapadd": "slapd",
    "slappasswd": "slapd",
    "ldapwhoami": "ldap-utils",
    "ldapsearch": "ldap-utils",
    "openssl": "openssl",
}
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class DirectoryEntry:
    """A person in the test directory, with the password that binds as them."""

    uid: str
    ou: str
    password: str
    cn: str
    mail: str
    department: str
    disabled: bool = False

    @property
    def dn(self) -> str:
        return f"uid={self.uid},ou={self.ou},{BASE_DN}"


USERS: Mapping[str, DirectoryEntry] = {
    "alice": DirectoryEntry(
        "alice", "engineering", "alice-pw", "Alice Liddell", "alice@example.org", "Engineering"
    ),
    "bob": DirectoryEntry("bob", "sales", "bob-pw", "Bob Marley", "bob@example.org", "Sales"),
    # Parentheses and non-ASCII letters are legitimate in names: escaping must not break them.
    "ann(contractor)": DirectoryEntry(
        "ann(contractor)", "sales", "ann-pw", "Ann Contractor", "ann@example.org", "Sales"
    ),
    "zoë": DirectoryEntry(
        "zoë", "sales", "zoë-pw ünïcode", "Zoë Ørsted", "zoe@example.org", "Sales"
    ),
    "dave": DirectoryEntry(
        "dave", "engineering", "dave-pw", "Dave Gone", "dave@example.org", "Engineering", True
    ),
}
# Two entries share uid=sam (one per OU): a name that matches twice must not authenticate.
AMBIGUOUS_UID = "sam"
AMBIGUOUS_PASSWORD = "sam-pw"


def find_binary(name: str) -> str:
    """Absolute path of `name`; PeerError naming the Debian package when it is missing."""
    path = shutil.which(name) or shutil.which(name, path=_SBIN_PATH)
    if path is None:
        package = _DEBIAN_PACKAGE.get(name, "that provides it")
        raise PeerError(
            f"'{name}' is not installed: apt-get install -y {package} "
            "(bash scripts/test.sh installs every package the tests need)"
        )
    return path


_HASHES: dict[str, str] = {}


def hash_password(password: str) -> str:
    """`{SSHA}...` from slappasswd (cached: every Slapd of a test run uses the same users)."""
    if password not in _HASHES:
        result = subprocess.run(
            [find_binary("slappasswd"), "-T", "/dev/stdin"],
            input=password.encode(),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise PeerError(f"slappasswd failed: {result.stderr.decode(errors='replace')}")
        _HASHES[password] = result.stdout.decode().strip()
    return _HASHES[password]


def _ldif_line(name: str, value: str) -> str:
    # LDIF (RFC 2849): non-ASCII or otherwise unsafe values are base64 with "::".
    safe = value.isascii() and value.isprintable() and not value.startswith((" ", ":", "<"))
    if safe and not value.endswith(" "):
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def _entry(dn: str, *attributes: tuple[str, str]) -> str:
    return "\n".join([_ldif_line("dn", dn), *(_ldif_line(n, v) for n, v in attributes)]) + "\n"


def _person(
    uid: str, ou: str, password: str, cn: str, mail: str, department: str
) -> list[tuple[str, str]]:
    return [
        ("objectClass", "inetOrgPerson"),
        ("uid", uid),
        ("cn", cn),
        ("sn", cn.split()[-1]),
        ("displayName", cn),
        ("mail", mail),
        ("departmentNumber", department),
        ("ou", ou),
        ("userPassword", hash_password(password)),
    ]


def directory_ldif() -> str:
    """The whole test directory as LDIF, for slapadd."""
    entries = [
        _entry(
            BASE_DN,
            ("objectClass", "dcObject"),
            ("objectClass", "organization"),
            ("dc", "example"),
            ("o", "Example"),
        ),
        _entry(
            READER_DN,
            ("objectClass", "organizationalRole"),
            ("objectClass", "simpleSecurityObject"),
            ("cn", "reader"),
            ("userPassword", hash_password(READER_PASSWORD)),
        ),
    ]
    for ou in ("engineering", "sales", "groups"):
        entries.append(
            _entry(f"ou={ou},{BASE_DN}", ("objectClass", "organizationalUnit"), ("ou", ou))
        )
    for user in USERS.values():
        attributes = _person(user.uid, user.ou, user.password, user.cn, user.mail, user.department)
        if user.disabled:
            attributes.append(("employeeType", "disabled"))
        entries.append(_entry(user.dn, *attributes))
    for ou in ("engineering", "sales"):
        attributes = _person(
            AMBIGUOUS_UID, ou, AMBIGUOUS_PASSWORD, f"Sam {ou.title()}", f"sam.{ou}@example.org", ou
        )
        entries.append(_entry(f"uid={AMBIGUOUS_UID},ou={ou},{BASE_DN}", *attributes))
    entries.append(
        _entry(
            GROUP_DN,
            ("objectClass", "groupOfNames"),
            ("cn", "printing"),
            ("member", USERS["alice"].dn),
            ("member", USERS["bob"].dn),
        )
    )
    return "\n".join(entries)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


_LIVE: weakref.WeakSet[Slapd] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    # A crashed test run or script must not leave daemons on the machine.
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.close()


class Slapd:
    """A private slapd: `start()`, `stop()`, `restart()`, `.url`; a context manager.

    `anonymous_search`: whether clients that bind anonymously may read entries (they may always
    bind anonymously; without it they see nothing). `tls`: also listen on an ldaps:// port
    (`.ldaps_url`) and offer StartTLS on the ldap:// one, with a self-signed certificate
    (`.ca_file`, made with openssl) for `cert_names`.
    """

    def __init__(
        self,
        base_dir: Path | None = None,
        *,
        anonymous_search: bool = False,
        tls: bool = False,
        cert_names: Sequence[str] = ("127.0.0.1", "localhost"),
        start_timeout: float = 10.0,
    ) -> None:
        self._own_dir = base_dir is None
        self.base_dir = Path(tempfile.mkdtemp(prefix="slapd-")) if base_dir is None else base_dir
        self.anonymous_search = anonymous_search
        self.tls = tls
        self.cert_names = tuple(cert_names)
        self.start_timeout = start_timeout
        self.port = 0
        self.ldaps_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._loaded = False

    # --- addresses

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        if not self.tls:
            raise PeerError("this Slapd was made without tls=True")
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ca_file(self) -> Path:
        return self.base_dir / "cert.pem"

    @property
    def conf_path(self) -> Path:
        return self.base_dir / "slapd.conf"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "slapd.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    # --- life cycle

    def start(self) -> Slapd:
        """Start slapd (loading the directory the first time); returns once it accepts."""
        if self.pid is not None:
            return self
        slapd = find_binary("slapd")
        if not self._loaded:
            self._prepare()
        # A restart keeps its port; a first start may lose a race for a free port: try again.
        first = self.port == 0
        for _ in range(3 if first else 1):
            if first:
                self.port = free_port()
                self.ldaps_port = free_port() if self.tls else 0
            since = self.mark()
            self._spawn(slapd)
            if self._wait_ready(since):
                _LIVE.add(self)
                return self
        raise PeerError(f"slapd did not start on {self.url}:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM by PID (SIGKILL after 5 s); the data stays for a later start()."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)  # a frozen slapd cannot act on SIGTERM
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self) -> Slapd:
        """stop() then start() on the same port, with the same data."""
        self.stop()
        return self.start()

    def freeze(self) -> None:
        """SIGSTOP: the kernel still completes TCP handshakes, but nothing answers."""
        if self.pid is None:
            raise PeerError("slapd is not running")
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGCONT)

    def close(self) -> None:
        """stop(), and remove the directory when this object made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Slapd:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- observation

    def log(self, since: int = 0) -> str:
        """slapd's log (stats level: connections, binds, searches), from offset `since`."""
        try:
            return self.log_path.read_text(errors="replace")[since:]
        except FileNotFoundError:
            return ""

    def mark(self) -> int:
        """An offset for log(since=...) and bind_dns(since=...): what happens from now on."""
        return len(self.log())

    def bind_dns(self, since: int = 0) -> list[str]:
        """The DNs of the binds slapd has received, in order ("" for anonymous binds)."""
        # Each bind request is logged once as `BIND dn="..." method=128` (a successful one is
        # logged again with mech=SIMPLE: not counted).
        prefix = ' BIND dn="'
        return [
            line.split(prefix, 1)[1].split('"', 1)[0]
            for line in self.log(since).splitlines()
            if prefix in line and " method=" in line
        ]

    def wait_for_bind(self, dn: str, since: int = 0, timeout: float = 5.0) -> None:
        """Wait until slapd has logged a bind as `dn` after offset `since`."""
        deadline = time.monotonic() + timeout
        while dn.lower() not in (d.lower() for d in self.bind_dns(since)):
            if time.monotonic() > deadline:
                raise PeerError(f"slapd did not log a bind as {dn!r}")
            time.sleep(0.01)

    def wait_for_log(self, text: str, since: int = 0, timeout: float = 5.0) -> str:
        """Wait until `text` appears in the log after offset `since`; return that part."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.log(since)):
            if time.monotonic() > deadline:
                raise PeerError(f"slapd did not log {text!r}")
            time.sleep(0.01)
        return log

    # --- internals

    def _prepare(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        db_dir = self.base_dir / "db"
        db_dir.mkdir(exist_ok=True)
        if self.tls:
            self._make_certificate()
        self.conf_path.write_text(self._config())
        ldif = self.base_dir / "directory.ldif"
        ldif.write_text(directory_ldif())
        result = subprocess.run(
            [find_binary("slapadd"), "-q", "-f", str(self.conf_path), "-l", str(ldif)],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise PeerError(f"slapadd failed: {(result.stdout + result.stderr).decode()}")
        self._loaded = True

    def _config(self) -> str:
        missing = [s for s in SCHEMAS if not (SCHEMA_DIR / f"{s}.schema").is_file()]
        if missing:
            raise PeerError(f"schemas {missing} missing in {SCHEMA_DIR}: apt-get install -y slapd")
        anonymous = "read" if self.anonymous_search else "none"
        lines = [
            *(f"include {SCHEMA_DIR / s}.schema" for s in SCHEMAS),
            f"pidfile {self.base_dir / 'slapd.pid'}",
            f"argsfile {self.base_dir / 'slapd.args'}",
            f"modulepath {MODULE_DIR}",
            "moduleload back_mdb",
            "sizelimit 500",
        ]
        if self.tls:
            lines += [
                f"TLSCertificateFile {self.base_dir / 'cert.pem'}",
                f"TLSCertificateKeyFile {self.base_dir / 'key.pem'}",
            ]
        lines += [
            "database mdb",
            "maxsize 16777216",
            f'suffix "{BASE_DN}"',
            f'rootdn "{ADMIN_DN}"',
            f"rootpw {hash_password(ADMIN_PASSWORD)}",
            f"directory {self.base_dir / 'db'}",
            "access to attrs=userPassword",
            "    by anonymous auth",
            "    by * none",
            "access to *",
            f'    by dn.exact="{READER_DN}" read',
            "    by self read",
            f"    by anonymous {anonymous}",
            "    by * none",
        ]
        return "\n".join(lines) + "\n"

    def _make_certificate(self) -> None:
        names = ",".join(
            f"IP:{name}" if _is_ip(name) else f"DNS:{name}" for name in self.cert_names
        )
        result = subprocess.run(
            [
                find_binary("openssl"),
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                f"/CN={self.cert_names[0]}",
                "-addext",
                f"subjectAltName={names}",
                "-keyout",
                str(self.base_dir / "key.pem"),
                "-out",
                str(self.base_dir / "cert.pem"),
            ],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise PeerError(f"openssl could not make a certificate: {result.stderr.decode()}")

    def _spawn(self, slapd: str) -> None:
        urls = [self.url + "/"]
        if self.tls:
            urls.append(f"ldaps://127.0.0.1:{self.ldaps_port}/")
        argv = [slapd, "-d", "stats", "-h", " ".join(urls), "-f", str(self.conf_path)]
        with self.log_path.open("ab") as log:
            log.write(f"----- {time.strftime('%H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
                start_new_session=True,
            )

    def _wait_ready(self, since: int) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        ports = [self.port] + ([self.ldaps_port] if self.tls else [])
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:  # e.g. "bind(7) failed errno=98": port taken
                self._proc = None
                return False
            # Our own slapd's word first: an open port alone may be somebody else's.
            if "slapd starting" in self.log(since) and all(_port_open(p) for p in ports):
                return True
            time.sleep(0.005)
        self.stop()
        return False


@contextlib.contextmanager
def running_slapd(base_dir: Path | None = None, **kwargs: Any) -> Iterator[Slapd]:
    """`with running_slapd(tmp_path) as slapd:` (for scripts; tests use fixtures)."""
    server = Slapd(base_dir, **kwargs)
    try:
        yield server.start()
    finally:
        server.close()
