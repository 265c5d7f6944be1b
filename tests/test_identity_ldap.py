"""gateway/identity/ldap.py against a real, private slapd (tests/slapd.py).

Two directories per xdist worker, shared by the tests that only read them: one that lets
anonymous clients search, one that does not (the service account is then the only way in).
Tests that stop, restart or freeze slapd start their own.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConfigError, DirectoryConfig, parse
from gateway.identity.ldap import DirectoryUnavailable, DirectoryUser, LdapDirectory
from tests.peers import PeerError, free_port
from tests.slapd import (
    AMBIGUOUS_PASSWORD,
    AMBIGUOUS_UID,
    BASE_DN,
    DISABLED_FILTER,
    READER_DN,
    READER_PASSWORD,
    USERS,
    Slapd,
    find_binary,
)

TIMEOUT = 2.0

MakeDirectory = Callable[..., LdapDirectory]


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """No anonymous search; StartTLS and ldaps:// with a self-signed certificate."""
    with Slapd(tmp_path_factory.mktemp("slapd"), tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def anon_slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """Anonymous clients may search."""
    with Slapd(tmp_path_factory.mktemp("slapd-anon"), anonymous_search=True) as server:
        yield server


@pytest.fixture
def own_slapd(tmp_path: Path) -> Iterator[Slapd]:
    """A slapd for this test alone (to stop, restart or freeze)."""
    with Slapd(tmp_path / "slapd") as server:
        yield server


@pytest.fixture(autouse=True)
def _show_slapd_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name in ("slapd", "anon_slapd", "own_slapd"):
            if name in request.fixturenames:
                server: Slapd = request.getfixturevalue(name)
                print(f"\n===== {name} log (tail) =====\n{server.log()[-4000:]}")


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "ldap.secret"
    path.write_text(READER_PASSWORD + "\n")  # as an editor leaves it
    return path


def config(server: Slapd, secret: Path | None, **overrides: Any) -> dict[str, Any]:
    """A [directory] table for `server`: service account when `secret` is given."""
    table: dict[str, Any] = {
        "url": server.url,
        "base_dn": BASE_DN,
        "search_attribute": "uid",
        "filter": DISABLED_FILTER,
        "timeout": TIMEOUT,
    }
    if secret is not None:
        table |= {"bind_dn": READER_DN, "bind_password_file": str(secret)}
    table |= overrides
    return {key: value for key, value in table.items() if value is not None}


def settings(table: dict[str, Any]) -> DirectoryConfig:
    """A [directory] table, loaded as the config loads it."""
    directory = parse({"directory": table}).directory
    assert directory is not None
    return directory


@pytest.fixture
def make_directory() -> Iterator[MakeDirectory]:
    made: list[LdapDirectory] = []

    def make(table: dict[str, Any]) -> LdapDirectory:
        directory = LdapDirectory(settings(table))
        made.append(directory)
        return directory

    yield make
    for directory in made:
        directory.close()


@pytest.fixture
def directory(slapd: Slapd, secret_file: Path, make_directory: MakeDirectory) -> LdapDirectory:
    """Service-account mode, with the filter that keeps disabled accounts out."""
    return make_directory(config(slapd, secret_file))


# --------------------------------------------------------------------------------------------
# The fixture itself, checked with OpenLDAP's own tools (not with the code under test)


def test_fixture_directory_as_assumed(slapd: Slapd) -> None:
    alice = USERS["alice"]
    whoami = subprocess.run(
        [find_binary("ldapwhoami"), "-x", "-H", slapd.url, "-D", alice.dn, "-w", alice.password],
        capture_output=True,
        text=True,
        check=False,
    )
    assert whoami.returncode == 0 and alice.dn in whoami.stdout, whoami.stderr
    search = subprocess.run(
        [
            find_binary("ldapsearch"),
            "-x",
            "-LLL",
            "-H",
            slapd.url,
            "-D",
            READER_DN,
            "-w",
            READER_PASSWORD,
            "-b",
            BASE_DN,
            f"(uid={AMBIGUOUS_UID})",
            "1.1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert search.stdout.count("dn: ") == 2, search.stderr
    anonymous = subprocess.run(
        [find_binary("ldapsearch"), "-x", "-LLL", "-H", slapd.url, "-b", BASE_DN, "(uid=alice)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "dn: " not in anonymous.stdout  # this one hides its entries from anonymous clients


def test_slapd_starts_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    with Slapd(tmp_path / "quick") as server:
        elapsed = time.monotonic() - started
        assert server.pid is not None
    assert elapsed < 1.0


def test_missing_slapd_is_an_error_naming_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tests.slapd.shutil.which", lambda *args, **kwargs: None)
    with pytest.raises(PeerError, match=r"apt-get install -y slapd"):
        Slapd(tmp_path / "absent").start()


# --------------------------------------------------------------------------------------------
# Who gets in


@pytest.mark.parametrize("uid", ["alice", "bob", "ann(contractor)", "zoë"])
async def test_user_in_each_ou_authenticates(directory: LdapDirectory, uid: str) -> None:
    entry = USERS[uid]
    user = await directory.authenticate(uid, entry.password)
    assert user == DirectoryUser(
        username=uid,
        dn=entry.dn,
        display_name=entry.cn,
        email=entry.mail,
        department=entry.department,
    )


async def test_name_matching_is_the_directorys_and_the_name_its_spelling(
    directory: LdapDirectory,
) -> None:
    for typed in ("ALICE", " alice ", "Alice  "):
        user = await directory.authenticate(typed, USERS["alice"].password)
        assert user is not None and user.username == "alice", typed


@pytest.mark.parametrize("password", ["wrong", "ALICE-PW", "alice-pw ", "alice-p"])
async def test_wrong_password_is_refused(directory: LdapDirectory, password: str) -> None:
    assert await directory.authenticate("alice", password) is None


async def test_unknown_user_is_refused(directory: LdapDirectory) -> None:
    assert await directory.authenticate("mallory", "alice-pw") is None


async def test_filtered_out_user_is_refused_with_the_right_password(
    slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    dave = USERS["dave"]
    filtered = make_directory(config(slapd, secret_file))
    assert await filtered.authenticate("dave", dave.password) is None
    # ...and it is the filter that keeps him out:
    unfiltered = make_directory(config(slapd, secret_file, filter=""))
    user = await unfiltered.authenticate("dave", dave.password)
    assert user is not None and user.dn == dave.dn


async def test_filter_restricts_to_a_department(
    slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    sales = make_directory(config(slapd, secret_file, filter="(departmentNumber=Sales)"))
    assert await sales.authenticate("bob", USERS["bob"].password) is not None
    assert await sales.authenticate("alice", USERS["alice"].password) is None


async def test_ambiguous_name_is_refused(directory: LdapDirectory) -> None:
    assert await directory.authenticate(AMBIGUOUS_UID, AMBIGUOUS_PASSWORD) is None


async def test_empty_password_is_refused_without_a_bind(
    slapd: Slapd, directory: LdapDirectory
) -> None:
    since = slapd.mark()
    assert await directory.authenticate("alice", "") is None
    # A later, successful check is logged after anything the empty one might have caused.
    assert await directory.authenticate("bob", USERS["bob"].password) is not None
    slapd.wait_for_bind(USERS["bob"].dn, since)
    assert slapd.bind_dns(since) == [READER_DN, USERS["bob"].dn]  # bob's check only


async def test_overlong_name_is_refused_without_asking(
    slapd: Slapd, directory: LdapDirectory
) -> None:
    since = slapd.mark()
    assert await directory.authenticate("a" * 101, "alice-pw") is None
    assert await directory.authenticate("", "alice-pw") is None
    assert await directory.authenticate("bob", USERS["bob"].password) is not None
    slapd.wait_for_bind(USERS["bob"].dn, since)
    assert slapd.bind_dns(since) == [READER_DN, USERS["bob"].dn]


@pytest.mark.parametrize(
    "name",
    [
        "*",
        "al*",  # unescaped, this would match alice alone and log in with her password
        "*lice",
        "alice)(uid=*",  # unescaped: (&(uid=alice)(uid=*)...) matches alice
        "alice)(|(uid=*",
        "*)(uid=*",
        "*)(objectClass=*))(&(uid=alice",
        "alice)(!(employeeType=disabled)",
        ")(",
        "(uid=alice)",
        "\\",
        "\\2a",  # a literal backslash-2a, not an escaped star
        "al\\2a",
        "alice\x00",
        "alice\x00)(uid=*",
        "\x00",
    ],
)
async def test_injection_attempts_are_refused(
    slapd: Slapd, directory: LdapDirectory, name: str
) -> None:
    # alice's real password: a filter that matched her would let the attacker in.
    assert await directory.authenticate(name, USERS["alice"].password) is None


async def test_filter_metacharacters_reach_slapd_escaped(
    slapd: Slapd, directory: LdapDirectory
) -> None:
    since = slapd.mark()
    assert await directory.authenticate("al*)(x", "alice-pw") is None
    log = slapd.wait_for_log("SEARCH RESULT", since)
    assert "(uid=al\\2A\\29\\28x)" in log.replace("\\2a", "\\2A"), log


# --------------------------------------------------------------------------------------------
# Service account and anonymous modes


async def test_anonymous_mode(anon_slapd: Slapd, make_directory: MakeDirectory) -> None:
    directory = make_directory(config(anon_slapd, None))
    since = anon_slapd.mark()
    user = await directory.authenticate("bob", USERS["bob"].password)
    assert user is not None and user.dn == USERS["bob"].dn
    anon_slapd.wait_for_bind(USERS["bob"].dn, since)
    assert anon_slapd.bind_dns(since) == ["", USERS["bob"].dn]  # anonymous search, then bob
    assert await directory.authenticate("bob", "wrong") is None
    assert await directory.authenticate("dave", USERS["dave"].password) is None
    ok, sentence = await directory.test_connection()
    assert ok, sentence
    assert "as anonymous" in sentence


async def test_service_account_mode_where_anonymous_may_also_search(
    anon_slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    directory = make_directory(config(anon_slapd, secret_file))
    assert await directory.authenticate("alice", USERS["alice"].password) is not None
    since = anon_slapd.mark()
    assert await directory.authenticate("bob", USERS["bob"].password) is not None
    anon_slapd.wait_for_bind(USERS["bob"].dn, since)
    assert anon_slapd.bind_dns(since) == [READER_DN, USERS["bob"].dn]


async def test_anonymous_mode_where_anonymous_may_not_search(
    slapd: Slapd, make_directory: MakeDirectory
) -> None:
    directory = make_directory(config(slapd, None))
    # The directory hides everything from anonymous clients: that is a configuration problem
    # (nobody could log in), not a wrong password.
    with pytest.raises(DirectoryUnavailable, match=r"base DN dc=example,dc=org does not exist"):
        await directory.authenticate("alice", USERS["alice"].password)
    ok, sentence = await directory.test_connection()
    assert not ok
    assert sentence == (
        f"The base DN {BASE_DN} does not exist on {slapd.url} (or anonymous may not read it)."
    )


async def test_service_account_with_wrong_password(
    slapd: Slapd, tmp_path: Path, make_directory: MakeDirectory
) -> None:
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("not-the-password")
    directory = make_directory(config(slapd, wrong))
    with pytest.raises(DirectoryUnavailable, match="refused the bind as cn=reader"):
        await directory.authenticate("alice", USERS["alice"].password)
    ok, sentence = await directory.test_connection()
    assert not ok
    assert sentence == (
        f"The directory at {slapd.url} refused the bind as {READER_DN}: invalidCredentials."
    )


async def test_service_account_secret_file_missing(
    slapd: Slapd, tmp_path: Path, make_directory: MakeDirectory
) -> None:
    directory = make_directory(config(slapd, tmp_path / "absent.secret"))
    ok, sentence = await directory.test_connection()
    assert not ok
    assert sentence == (
        f"Cannot read bind_password_file {tmp_path / 'absent.secret'}: No such file or directory."
    )
    with pytest.raises(DirectoryUnavailable, match="Cannot read bind_password_file"):
        await directory.authenticate("alice", USERS["alice"].password)


# --------------------------------------------------------------------------------------------
# test_connection


async def test_connection_ok(slapd: Slapd, directory: LdapDirectory) -> None:
    ok, sentence = await directory.test_connection()
    assert ok
    assert sentence == (
        f"Connected to {slapd.url} as {READER_DN}; {BASE_DN} exists and has entries matching "
        f"(&(uid=*){DISABLED_FILTER})."
    )


async def test_connection_with_a_base_dn_that_does_not_exist(
    slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    directory = make_directory(config(slapd, secret_file, base_dn="dc=nowhere,dc=org"))
    ok, sentence = await directory.test_connection()
    assert not ok
    assert "The base DN dc=nowhere,dc=org does not exist" in sentence


async def test_connection_with_the_wrong_search_attribute(
    slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    # Pointing an Active Directory config at OpenLDAP: nobody has sAMAccountName.
    directory = make_directory(config(slapd, secret_file, search_attribute="sAMAccountName"))
    ok, sentence = await directory.test_connection()
    assert not ok
    assert sentence.endswith("check search_attribute and filter.")
    assert await directory.authenticate("alice", USERS["alice"].password) is None


async def test_connection_to_nothing(make_directory: MakeDirectory) -> None:
    url = f"ldap://127.0.0.1:{free_port()}"
    directory = make_directory(
        {"url": url, "base_dn": BASE_DN, "search_attribute": "uid", "timeout": TIMEOUT}
    )
    ok, sentence = await directory.test_connection()
    assert not ok
    assert sentence == f"Cannot reach the directory at {url}: Connection refused."


# An HTTP server where the directory should be. ldap3 reads "HT" as a BER header announcing an
# 86-byte message: an answer of exactly that size reaches its decoder (which fails); a longer
# one leaves it waiting for the rest of a second "message", until the timeout.
_HTTP_HEAD = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
_NOT_LDAP = {
    "decodable": _HTTP_HEAD + b"x" * (86 - len(_HTTP_HEAD)),
    "truncated": _HTTP_HEAD + b"<html>" + b"x" * 300 + b"</html>",
}


@pytest.mark.parametrize("answer", sorted(_NOT_LDAP))
async def test_connection_to_something_that_is_not_ldap(
    make_directory: MakeDirectory, answer: str
) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(_NOT_LDAP[answer])
        await writer.drain()
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        url = f"ldap://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        timeout = 0.5
        directory = make_directory(
            {"url": url, "base_dn": BASE_DN, "search_attribute": "uid", "timeout": timeout}
        )
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable) as raised:
            await directory.authenticate("alice", USERS["alice"].password)
        assert time.monotonic() - started < timeout + 1
        if answer == "decodable":
            assert str(raised.value).startswith(
                f"The server at {url} did not answer like an LDAP directory ("
            )
        else:
            assert str(raised.value) == (
                f"No answer from the directory at {url} within {timeout:g} s."
            )
        ok, sentence = await directory.test_connection()
        assert not ok and sentence == str(raised.value)


async def test_connection_to_a_name_that_does_not_resolve(make_directory: MakeDirectory) -> None:
    url = "ldap://directory.printgate.invalid"  # .invalid never resolves (RFC 2606)
    directory = make_directory({"url": url, "base_dn": BASE_DN, "search_attribute": "uid"})
    assert await directory.test_connection() == (
        False,
        f"Cannot reach the directory at {url}: cannot resolve the host name.",
    )


# --------------------------------------------------------------------------------------------
# TLS


async def test_starttls_with_ca_file(
    slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    directory = make_directory(
        config(slapd, secret_file, starttls=True, ca_file=str(slapd.ca_file))
    )
    assert await directory.authenticate("alice", USERS["alice"].password) is not None
    since = slapd.mark()
    assert await directory.authenticate("bob", USERS["bob"].password) is not None
    slapd.wait_for_bind(USERS["bob"].dn, since)
    log = slapd.log(since)
    # Both connections (service search, user bind) negotiated TLS before sending a password.
    assert log.count(" STARTTLS") == 2
    strengths = re.findall(r"mech=SIMPLE bind_ssf=0 ssf=(\d+)", log)
    assert len(strengths) == 2 and all(int(ssf) >= 128 for ssf in strengths), log
    ok, sentence = await directory.test_connection()
    assert ok and "with StartTLS" in sentence, sentence


async def test_ldaps_with_ca_file(
    slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    directory = make_directory(
        config(slapd, secret_file, url=slapd.ldaps_url, ca_file=str(slapd.ca_file))
    )
    user = await directory.authenticate("zoë", USERS["zoë"].password)
    assert user is not None and user.email == "zoe@example.org"


@pytest.mark.parametrize("tls", ["ldaps", "starttls"])
async def test_untrusted_certificate_is_unavailable_not_accepted(
    slapd: Slapd, secret_file: Path, make_directory: MakeDirectory, tls: str
) -> None:
    table = (
        config(slapd, secret_file, url=slapd.ldaps_url)
        if tls == "ldaps"
        else config(slapd, secret_file, starttls=True)
    )
    directory = make_directory(table)  # no ca_file: the system's CAs do not know this one
    with pytest.raises(DirectoryUnavailable, match="certificate verification failed"):
        await directory.authenticate("alice", USERS["alice"].password)
    ok, sentence = await directory.test_connection()
    assert not ok and "certificate verification failed" in sentence


@pytest.mark.parametrize("tls", ["ldaps", "starttls"])
async def test_certificate_for_another_host_is_refused(
    tmp_path: Path, secret_file: Path, make_directory: MakeDirectory, tls: str
) -> None:
    with Slapd(tmp_path / "slapd", tls=True, cert_names=["ldap.example.net"]) as server:
        table = config(server, secret_file, ca_file=str(server.ca_file))
        table |= {"url": server.ldaps_url} if tls == "ldaps" else {"starttls": True}
        directory = make_directory(table)
        with pytest.raises(DirectoryUnavailable, match="certificate does not name this host"):
            await directory.authenticate("alice", USERS["alice"].password)


async def test_tls_verify_off(
    slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    directory = make_directory(config(slapd, secret_file, url=slapd.ldaps_url, tls_verify=False))
    assert await directory.authenticate("alice", USERS["alice"].password) is not None


# --------------------------------------------------------------------------------------------
# When the directory goes away


async def test_stopped_then_restarted(
    own_slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    directory = make_directory(config(own_slapd, secret_file))
    alice = USERS["alice"]
    assert await directory.authenticate("alice", alice.password) is not None

    own_slapd.stop()
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable) as raised:
        await directory.authenticate("alice", alice.password)
    assert time.monotonic() - started < TIMEOUT + 1
    assert str(raised.value) == (
        f"Cannot reach the directory at {own_slapd.url}: Connection refused."
    )
    ok, sentence = await directory.test_connection()
    assert not ok and sentence == str(raised.value)

    own_slapd.restart()
    user = await directory.authenticate("alice", alice.password)
    assert user is not None and user.dn == alice.dn
    ok, sentence = await directory.test_connection()
    assert ok, sentence


async def test_silent_server_times_out(
    own_slapd: Slapd, secret_file: Path, make_directory: MakeDirectory
) -> None:
    timeout = 1.0
    directory = make_directory(config(own_slapd, secret_file, timeout=timeout))
    assert await directory.authenticate("bob", USERS["bob"].password) is not None

    own_slapd.freeze()  # TCP still connects (the kernel's backlog); nothing answers
    try:
        started = time.monotonic()
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        results = await asyncio.gather(
            *(directory.authenticate("bob", USERS["bob"].password) for _ in range(5)),
            directory.test_connection(),
            return_exceptions=True,
        )
        elapsed = time.monotonic() - started
        ticker.cancel()
        assert elapsed < timeout + 1
        expected = f"No answer from the directory at {own_slapd.url} within {timeout:g} s."
        for result in results[:-1]:
            assert isinstance(result, DirectoryUnavailable)
            assert str(result) == expected
        assert results[-1] == (False, expected)
        assert ticks >= 10  # the event loop kept running while the threads waited
    finally:
        own_slapd.thaw()

    user = await directory.authenticate("bob", USERS["bob"].password)
    assert user is not None


# --------------------------------------------------------------------------------------------
# Settings


MINIMAL = {"url": "ldap://dc.example.org", "base_dn": BASE_DN, "search_attribute": "uid"}


def test_settings_defaults() -> None:
    loaded = settings(MINIMAL)
    assert loaded == DirectoryConfig(
        url="ldap://dc.example.org", base_dn=BASE_DN, search_attribute="uid"
    )
    assert loaded.endpoint == (False, "dc.example.org", 389)
    assert loaded.starttls is False and loaded.tls_verify is True
    assert loaded.timeout == 5.0 and loaded.filter == ""
    assert loaded.bind_dn is None and loaded.bind_password_file is None
    ldaps = settings(MINIMAL | {"url": "ldaps://dc.example.org"})
    assert (ldaps.endpoint, ldaps.encrypted) == ((True, "dc.example.org", 636), True)


def test_settings_from_the_design_example() -> None:
    loaded = settings(
        {
            "url": "ldap://dc.example.org:389",
            "base_dn": "dc=example,dc=org",
            "search_attribute": "sAMAccountName",
            "filter": "",
            "bind_dn": "cn=reader,dc=example,dc=org",
            "bind_password_file": "/etc/printgate/ldap.secret",
        }
    )
    assert loaded.bind_password_file == Path("/etc/printgate/ldap.secret")
    assert loaded.filter == ""


def test_settings_full() -> None:
    loaded = settings(
        MINIMAL
        | {
            "url": "ldap://[::1]:10389/",
            "starttls": True,
            "filter": "(memberOf=cn=printing,ou=groups,dc=example,dc=org)",
            "bind_dn": "reader@example.org",  # AD accepts a UPN as bind name
            "bind_password_file": "/s",
            "timeout": 2,
            "ca_file": "/ca.pem",
            "tls_verify": False,
        }
    )
    assert loaded.endpoint == (False, "::1", 10389)
    assert loaded.timeout == 2.0 and isinstance(loaded.timeout, float)
    assert loaded.ca_file == Path("/ca.pem")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"url": None}, "url"),
        ({"url": ""}, "url"),
        ({"url": "http://dc.example.org"}, "url"),
        ({"url": "dc.example.org:389"}, "url"),
        ({"url": "ldap://"}, "url"),
        ({"url": "ldap://dc:99999"}, "url"),
        ({"url": "ldap://dc:port"}, "url"),
        ({"url": "ldap://dc/dc=example,dc=org?uid"}, "url"),
        ({"url": "ldap://user:pw@dc"}, "url"),
        ({"url": 389}, "url"),
        ({"url": "ldaps://dc", "starttls": True}, "starttls"),
        ({"starttls": "yes"}, "starttls"),
        ({"base_dn": None}, "base_dn"),
        ({"base_dn": "example.org"}, "base_dn"),
        ({"search_attribute": None}, "search_attribute"),
        ({"search_attribute": "uid)(x"}, "search_attribute"),
        ({"search_attribute": "uid=*"}, "search_attribute"),
        ({"filter": "employeeType=staff"}, "filter"),
        ({"filter": "(a=b))(|(c=d)"}, "filter"),
        ({"filter": "(a=b)(c=d)"}, "filter"),
        ({"filter": "(a=b"}, "filter"),
        ({"filter": "(&(a=b)c=d)"}, "filter"),
        ({"filter": 1}, "filter"),
        ({"bind_dn": READER_DN}, "bind_password_file"),
        ({"bind_password_file": "/s"}, "bind_dn"),
        ({"bind_dn": "cn=x\n", "bind_password_file": "/s"}, "bind_dn"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": 3600}, "timeout"),
        ({"ca_file": "/ca.pem"}, "ca_file"),
        ({"ca_file": 7, "starttls": True}, "ca_file"),
        ({"tls_verify": "no"}, "tls_verify"),
        ({"bind_password": "secret"}, "bind_password"),
    ],
)
def test_settings_errors_name_the_key(change: dict[str, Any], key: str) -> None:
    """Refused when the config is loaded, in one line that names the key."""
    table = {k: v for k, v in (MINIMAL | change).items() if v is not None}
    with pytest.raises(ConfigError) as raised:
        settings(table)
    message = str(raised.value)
    assert message.startswith(f"[directory] {key}: "), message
    assert "\n" not in message


def test_settings_validate_when_built_directly() -> None:
    with pytest.raises(ConfigError, match=r"^\[directory\] url: "):
        DirectoryConfig(url="ftp://x", base_dn=BASE_DN, search_attribute="uid")


async def test_closed_directory_does_not_leak_threads(slapd: Slapd, secret_file: Path) -> None:
    directory = LdapDirectory(settings(config(slapd, secret_file)))
    assert await directory.authenticate("alice", USERS["alice"].password) is not None
    directory.close()
    await asyncio.sleep(0)
    deadline = time.monotonic() + 2
    while any(t.name.startswith("ldap") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "ldap worker threads outlived close()"
        await asyncio.sleep(0.01)
