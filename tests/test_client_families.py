"""The client families, each with what it asks for before it prints and what it then does,
against one printgate queue (advertised over DNS-SD) in front of a real ippeveprinter:
Windows' IPP class driver, Android's print service, iOS and macOS (AirPrint), ChromeOS, and
the TXT rules they all rely on."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway.ipp import Message, Op, Tag, decode, encode
from gateway.ipp import model as m
from tests import pg
from tests.ipp_call import ipp, job_value
from tests.peers import IppEvePrinter, Printgate, find_binary, free_port, make_pdf, wait_for

BOUND = 30.0  # every DNS-SD wait polls for its condition within this bound
KEYS = ("adminurl", "UUID", "URF", "air", "mopria-certified", "note", "ty", "pdl")
LONG_LOCATION = "Building 7, second floor, by the window " * 8  # > 255 bytes: clipped in TXT


@dataclass
class Site:
    gw: Printgate
    printer: IppEvePrinter
    queue: str
    service_name: str
    pdf: bytes

    @property
    def uri(self) -> str:
        return self.gw.queue_uri(self.queue)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, dns_sd: None) -> Iterator[Site]:
    """One advertised queue for the whole module (a printgate and an ippeveprinter take
    seconds to start, the adverts seconds more to appear)."""
    base = tmp_path_factory.mktemp("families")
    tag = uuid.uuid4().hex[:6]
    printer = IppEvePrinter(f"families-{tag}", base_dir=base / "eve").start()
    database = pg.PostgresDatabase().create() if _on_postgresql() else None
    config = {
        # Listening on every address: DNS-SD clients reach it by this host's mDNS name.
        "server": {"listen": [f"0.0.0.0:{free_port()}"]},
        "dns_sd": {"advertise": True},
        "printers": [{"name": "eve", "uri": printer.uri}],
        "queues": [
            {
                "name": f"fam-{tag}",
                "printers": ["eve"],
                "info": f"Families {tag}",
                "location": LONG_LOCATION,
            }
        ],
        **({"database": {"url": database.url}} if database else {}),
    }
    gw = Printgate(config, base / "printgate")
    try:
        gw.start()
        pdf = make_pdf(base / "page.pdf", pages=1).read_bytes()
        yield Site(gw, printer, f"fam-{tag}", f"Families {tag}", pdf)
    finally:
        gw.stop()
        printer.stop()
        if database is not None:
            database.drop()


def _on_postgresql() -> bool:
    return os.environ.get("PRINTGATE_TEST_DB", "").strip().lower() == "postgresql"


# --- helpers ------------------------------------------------------------------------------


def _ippfind(service: str, port: int, *expression: str) -> list[str]:
    argv = [find_binary("ippfind"), "-T", "3", service, "--port", str(port), *expression]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return [line for line in result.stdout.splitlines() if line.strip()]


def advert(site: Site, service: str = "_ipp._tcp") -> dict[str, str]:
    """The queue's advert under `service` as ippfind sees it: its URI and the TXT KEYS."""
    fields = "|".join(["{service_name}", "{service_uri}", *(f"{{txt_{k}}}" for k in KEYS)])

    def look() -> dict[str, str] | None:
        for line in _ippfind(service, site.gw.port, "-x", "echo", fields, ";"):
            name, uri, *values = line.split("|")
            if name == site.service_name:
                return {"uri": uri, **dict(zip(KEYS, values, strict=True))}
        return None

    found: dict[str, str] = wait_for(look, BOUND, what=f"the advert under {service}")
    return found


def raw_txt(site: Site) -> list[bytes]:
    """Every TXT string of the queue's _ipp._tcp advert, as avahi resolves it."""

    def look() -> list[bytes] | None:
        result = subprocess.run(
            [find_binary("avahi-browse"), "-r", "-p", "-t", "_ipp._tcp"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        for line in result.stdout.splitlines():
            fields = line.split(b";", 9)
            if len(fields) == 10 and fields[0] == b"=" and fields[8] == str(site.gw.port).encode():
                return [
                    s.replace(b'\\"', b'"') for s in re.findall(rb'"((?:[^"\\]|\\.)*)"', fields[9])
                ]
        return None

    entries: list[bytes] = wait_for(look, BOUND, what="the advert resolved by avahi-browse")
    return entries


def printer_attributes(
    site: Site, *names: str, version: tuple[int, int] = (2, 0), uri: str | None = None
) -> Message:
    """Get-Printer-Attributes in the given IPP version, sent to 127.0.0.1 but addressed (Host
    header and printer-uri) to `uri`, as a client that found the queue by DNS-SD does."""
    uri = uri or site.uri
    message = Message(
        version,
        Op.GET_PRINTER_ATTRIBUTES,
        7,
        (
            m.group(
                Tag.OPERATION,
                [
                    m.charset("attributes-charset", "utf-8"),
                    m.language("attributes-natural-language", "en"),
                    m.uri("printer-uri", uri),
                    *([m.keyword("requested-attributes", *names)] if names else []),
                ],
            ),
        ),
    )
    parts = urllib.parse.urlsplit(uri)
    conn = http.client.HTTPConnection("127.0.0.1", site.gw.port, timeout=30)
    try:
        conn.request(
            "POST",
            parts.path,
            body=encode(message),
            headers={"Content-Type": "application/ipp", "Host": parts.netloc},
        )
        reply = conn.getresponse()
        assert reply.status == 200, reply.status
        return decode(reply.read())[0]
    finally:
        conn.close()


def strings(message: Message, name: str) -> list[str]:
    group = message.group(Tag.PRINTER)
    attribute = group.get(name) if group else None
    return attribute.strings() if attribute else []


# --- the families -------------------------------------------------------------------------


def test_windows_ipp_class_driver(site: Site) -> None:
    """It asks in IPP/1.0, builds the device from printer-device-id, and lists the printer
    only when it says it is Mopria certified (attribute and TXT key)."""
    reply = printer_attributes(
        site,
        "printer-device-id",
        "mopria-certified",
        "printer-make-and-model",
        "document-format-supported",
        version=(1, 0),
    )
    assert reply.code == 0, hex(reply.code)
    assert reply.version == (1, 0)
    device_id = strings(reply, "printer-device-id")
    assert len(device_id) == 1
    pairs = device_id[0].split(";")
    assert pairs[-1] == "", device_id  # every pair ends with ';'
    keys = {pair.split(":", 1)[0] for pair in pairs[:-1] if ":" in pair}
    assert all(re.fullmatch(r"[A-Za-z ]+:[^:;]+", pair) for pair in pairs[:-1]), device_id
    assert {"MFG", "MDL", "CMD"} <= keys or {"MANUFACTURER", "MODEL", "COMMAND SET"} <= keys
    certified = strings(reply, "mopria-certified")
    assert certified and re.fullmatch(r"\d+\.\d+", certified[0]), certified
    assert advert(site)["mopria-certified"] == certified[0]


def _chunked_print_job(site: Site, user: str, name: str) -> Message:
    """Print-Job with the body sent in HTTP chunks, as Android's print service sends it."""
    header = encode(
        Message(
            (2, 0),
            Op.PRINT_JOB,
            11,
            (
                m.group(
                    Tag.OPERATION,
                    [
                        m.charset("attributes-charset", "utf-8"),
                        m.language("attributes-natural-language", "en"),
                        m.uri("printer-uri", site.uri),
                        m.name_("requesting-user-name", user),
                        m.name_("job-name", name),
                        m.mime("document-format", "application/pdf"),
                    ],
                ),
            ),
        )
    )
    chunks = [header, *(site.pdf[i : i + 1000] for i in range(0, len(site.pdf), 1000))]
    conn = http.client.HTTPConnection("127.0.0.1", site.gw.port, timeout=30)
    try:
        conn.request(
            "POST",
            urllib.parse.urlsplit(site.uri).path,
            body=iter(chunks),
            headers={"Content-Type": "application/ipp"},
            encode_chunked=True,
        )
        reply = conn.getresponse()
        assert reply.status == 200, reply.status
        return decode(reply.read())[0]
    finally:
        conn.close()


def test_android_print_service(site: Site) -> None:
    """Validate-Job first, then a chunked Print-Job as a user whose name has spaces, then its
    own jobs (my-jobs), newest first."""
    user = "Jane Q Public"
    checked = ipp(
        site.uri, Op.VALIDATE_JOB, m.mime("document-format", "application/pdf"), user=user
    )
    assert checked.code == 0, hex(checked.code)
    ids = []
    for number in (1, 2):
        reply = _chunked_print_job(site, user, f"android {number}")
        assert reply.code < 0x100, hex(reply.code)
        job_id = job_value(reply, "job-id")
        assert isinstance(job_id, int)
        ids.append(job_id)
    other = ipp(site.uri, Op.VALIDATE_JOB, user="someone-else")
    assert other.code == 0

    def mine() -> list[tuple[int, str, str, int]]:
        reply = ipp(
            site.uri,
            Op.GET_JOBS,
            m.keyword("which-jobs", "all"),
            m.boolean("my-jobs", True),
            m.keyword(
                "requested-attributes", "job-id", "job-originating-user-name", "job-name",
                "job-state",
            ),
            user=user,
        )  # fmt: skip
        rows = []
        for group in reply.groups_of(Tag.JOB):
            job_id, state = group.get("job-id"), group.get("job-state")
            owner, name = group.get("job-originating-user-name"), group.get("job-name")
            assert job_id and state and owner and name, group
            rows.append((int(str(job_id.value)), owner.text() or "", name.text() or "",
                         int(str(state.value))))  # fmt: skip
        return rows

    done = wait_for(
        lambda: (rows := mine()) and all(r[3] == 9 for r in rows) and rows,
        60,
        interval=0.5,
        what="both jobs completed",
    )
    assert [r[0] for r in done] == sorted(ids, reverse=True)
    assert {r[1] for r in done} == {user}
    assert [r[2] for r in done] == ["android 2", "android 1"]
    site.printer.wait_documents(2, timeout=60)


def test_ios_and_macos(site: Site) -> None:
    """AirPrint browses the _universal subtype, reads URF and air from TXT, then asks for
    urf-supported and the loaded media."""
    found = wait_for(
        lambda: (
            site.service_name
            in _ippfind("_ipp._tcp,_universal", site.gw.port, "-x", "echo", "{service_name}", ";")
        ),
        BOUND,
        what="the queue under _universal",
    )
    assert found
    txt = advert(site)
    assert txt["URF"] and txt["URF"] != "none"
    assert txt["air"] == "none"  # an auth=none queue: no password prompt
    reply = printer_attributes(
        site, "urf-supported", "media-col-ready", "media-ready", "document-format-supported"
    )
    assert ",".join(strings(reply, "urf-supported")) == txt["URF"]
    assert "image/urf" in strings(reply, "document-format-supported")
    printer = reply.group(Tag.PRINTER)
    assert printer is not None
    assert strings(reply, "media-ready")
    ready = printer.get("media-col-ready")
    assert ready is not None and ready.tag == Tag.BEGIN_COLLECTION and ready.values


def test_chromeos(site: Site) -> None:
    """ChromeOS sets a printer up driverless when it says IPP Everywhere and names itself."""
    reply = printer_attributes(site, "printer-make-and-model", "ipp-features-supported")
    make = strings(reply, "printer-make-and-model")
    assert make and make[0].strip()
    assert "ipp-everywhere" in strings(reply, "ipp-features-supported")


def test_txt_record_matches_the_attributes_and_fits(site: Site) -> None:
    """adminurl is printer-more-info and UUID printer-uuid, asked at the URI the advert
    gives; every TXT string fits DNS-SD's 255 bytes (the long location is cut)."""
    txt = advert(site)
    reply = printer_attributes(site, "printer-more-info", "printer-uuid", uri=txt["uri"])
    assert strings(reply, "printer-more-info") == [txt["adminurl"]]
    assert strings(reply, "printer-uuid") == [f"urn:uuid:{txt['UUID']}"]
    entries = raw_txt(site)
    assert {e.split(b"=", 1)[0] for e in entries} >= {b"adminurl", b"UUID", b"note", b"URF"}
    assert all(len(e) <= 255 for e in entries), [len(e) for e in entries]
    note = txt["note"]
    assert note and LONG_LOCATION.startswith(note) and len(note) < len(LONG_LOCATION)
