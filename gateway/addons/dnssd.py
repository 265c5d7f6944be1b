"""DNS-SD: advertise every queue (_ipp._tcp, and _ipps._tcp with TLS; subtypes _print and
_universal), re-announce when a queue's capabilities change, advertise a queue the console
saves and withdraw one it deletes at once, withdraw all at shutdown; and browse the network
for printers (`printgate printers discover`, the console's "Add printers").

Two publishers: avahi-daemon over its D-Bus API when it runs (python-zeroconf beside a running
avahi-daemon would fight it over port 5353, and cannot give one instance several subtypes),
else python-zeroconf answering mDNS itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
from zeroconf import IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from ..config import Config, split_address
from ..printers.events import PrinterChanged
from ..server.queue_attrs import QueueView
from ..server.queues_live import QueuesChanged
from .dnssd_txt import txt_record

log = logging.getLogger(__name__)
SUBTYPES = ("_print", "_universal")
REFRESH_SECONDS = 5.0
AVAHI = "org.freedesktop.Avahi"
AVAHI_SERVER = "org.freedesktop.Avahi.Server"
AVAHI_GROUP = "org.freedesktop.Avahi.EntryGroup"
AVAHI_UNSPEC = -1
LOOPBACK = "lo"
AVAHI_COLLISION = 3
AVAHI_FAILURE = 4
AVAHI_PROTO_INET = 0
AVAHI_PUBLISH_NO_REVERSE = 16  # 127.0.0.1's PTR record is the host's own


class DiscoveryError(RuntimeError):
    """DNS-SD is not available the way the config asks."""


@dataclass(frozen=True)
class Advert:
    key: str  # stable identity: queue and service type
    name: str  # the instance name clients show
    service_type: str  # "_ipp._tcp" or "_ipps._tcp"
    port: int
    txt: tuple[tuple[str, str], ...]
    subtypes: tuple[str, ...] = SUBTYPES
    loopback_only: bool = False  # the listeners answer on loopback only: advertise there only


class Publisher(Protocol):
    host: str

    async def publish(self, advert: Advert) -> None: ...

    async def withdraw(self, key: str) -> None: ...

    async def close(self) -> None: ...


# --- avahi-daemon over D-Bus ----------------------------------------------------------------


class AvahiPublisher:
    """One Avahi entry group per advert, so each is updated, renamed or withdrawn alone."""

    def __init__(self, bus: MessageBus, host: str, configured_host: str):
        self.bus = bus
        self.host = host
        self._configured_host = configured_host
        # key -> (entry group path, the advert as wished, the name Avahi settled on)
        self._groups: dict[str, tuple[str, Advert, str]] = {}
        # port -> (entry group path, host name): the loopback adverts' own host names
        self._loopback_hosts: dict[int, tuple[str, str]] = {}

    @classmethod
    async def connect(cls, configured_host: str) -> AvahiPublisher:
        try:
            bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        except (OSError, ValueError) as exc:
            raise DiscoveryError(f"no system D-Bus: {exc}") from exc
        try:
            (fqdn,) = await _call(bus, "/", AVAHI_SERVER, "GetHostNameFqdn")
        except DiscoveryError:
            bus.disconnect()
            raise
        return cls(bus, configured_host or str(fqdn), configured_host)

    async def publish(self, advert: Advert) -> None:
        known = self._groups.get(advert.key)
        if known is not None and known[1] == advert:
            return
        if known is not None and _same_service(known[1], advert):
            await _call(
                self.bus,
                known[0],
                AVAHI_GROUP,
                "UpdateServiceTxt",
                "iiusssaay",
                [
                    AVAHI_UNSPEC,
                    AVAHI_UNSPEC,
                    0,
                    known[2],
                    advert.service_type,
                    "",
                    _txt(advert),
                ],
            )
            self._groups[advert.key] = (known[0], advert, known[2])
            log.info("re-announced %s %r: its capabilities changed", advert.service_type, known[2])
            return
        if known is not None:
            await self.withdraw(advert.key)
        (path,) = await _call(self.bus, "/", AVAHI_SERVER, "EntryGroupNew")
        name = advert.name
        for _ in range(10):
            host = await self._add(str(path), advert, name)
            state = await self._settled(str(path))
            if state != AVAHI_COLLISION:
                break
            # Another host (or printgate) has the name: take Avahi's next alternative.
            (alternative,) = await _call(
                self.bus, "/", AVAHI_SERVER, "GetAlternativeServiceName", "s", [name]
            )
            name = str(alternative)
            await _call(self.bus, str(path), AVAHI_GROUP, "Reset")
        self._groups[advert.key] = (str(path), advert, name)
        where = " on the loopback interface only" if advert.loopback_only else ""
        log.info(
            "advertised %s as %r on %s:%d%s", advert.service_type, name, host, advert.port, where
        )

    async def _add(self, path: str, advert: Advert, name: str) -> str:
        """Add the service (and its subtypes) to the entry group; the host name it names."""
        # As cupsd does for queues it does not share: on the loopback interface only, where
        # clients on this host find it and nobody on the network is sent where nothing answers.
        interface = socket.if_nametoindex(LOOPBACK) if advert.loopback_only else AVAHI_UNSPEC
        host = await self._loopback_host(advert.port) if advert.loopback_only else ""
        base = [interface, AVAHI_UNSPEC, 0, name, advert.service_type, ""]
        await _call(
            self.bus,
            path,
            AVAHI_GROUP,
            "AddService",
            "iiussssqaay",
            [*base, host or self._configured_host, advert.port, _txt(advert)],
        )
        for subtype in advert.subtypes:
            await _call(
                self.bus,
                path,
                AVAHI_GROUP,
                "AddServiceSubtype",
                "iiussss",
                [*base, f"{subtype}._sub.{advert.service_type}"],
            )
        await _call(self.bus, path, AVAHI_GROUP, "Commit")
        return host or self._configured_host or self.host

    async def _loopback_host(self, port: int) -> str:
        """The host name a loopback advert names: one of its own, whose only address is
        127.0.0.1 and only on lo. The machine's name resolves to its LAN address as well, where
        a loopback listener does not answer: a client resolving the advert (ippfind, then
        ipptool) would be sent there. One per port, so printgates side by side never collide."""
        known = self._loopback_hosts.get(port)
        if known is not None:
            return known[1]
        label = self.host.removesuffix(".").removesuffix(".local").split(".")[0]
        name = f"{label}-loopback-{port}.local"
        (path,) = await _call(self.bus, "/", AVAHI_SERVER, "EntryGroupNew")
        address = [socket.if_nametoindex(LOOPBACK), AVAHI_PROTO_INET, AVAHI_PUBLISH_NO_REVERSE]
        await _call(
            self.bus, str(path), AVAHI_GROUP, "AddAddress", "iiuss", [*address, name, "127.0.0.1"]
        )
        await _call(self.bus, str(path), AVAHI_GROUP, "Commit")
        await self._settled(str(path))
        self._loopback_hosts[port] = (str(path), name)
        return name

    async def _settled(self, path: str) -> int:
        """The group's state once Avahi has probed the name (registering takes ~1 s)."""
        state = 0
        for _ in range(40):
            (reply,) = await _call(self.bus, path, AVAHI_GROUP, "GetState")
            state = reply if isinstance(reply, int) else 0
            if state in (2, AVAHI_COLLISION, AVAHI_FAILURE):  # established, collision, failure
                break
            await asyncio.sleep(0.1)
        return state

    async def withdraw(self, key: str) -> None:
        known = self._groups.pop(key, None)
        if known is not None:
            await _call(self.bus, known[0], AVAHI_GROUP, "Free")

    async def close(self) -> None:
        for key in list(self._groups):
            try:
                await self.withdraw(key)
            except DiscoveryError as exc:
                log.warning("could not withdraw %s: %s", key, exc)
        for path, name in self._loopback_hosts.values():
            try:
                await _call(self.bus, path, AVAHI_GROUP, "Free")
            except DiscoveryError as exc:
                log.warning("could not withdraw %s: %s", name, exc)
        log.info("DNS-SD adverts withdrawn")
        self.bus.disconnect()


async def _call(
    bus: MessageBus,
    path: str,
    interface: str,
    member: str,
    signature: str = "",
    body: Sequence[object] = (),
) -> list[object]:
    reply = await bus.call(
        Message(
            destination=AVAHI,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=list(body),
        )
    )
    if reply is None or reply.message_type == MessageType.ERROR:
        detail = reply.body[0] if reply is not None and reply.body else "no reply"
        name = reply.error_name if reply is not None else ""
        raise DiscoveryError(f"avahi-daemon {member}: {name} {detail}".strip())
    return list(reply.body)


def _txt(advert: Advert) -> list[bytes]:
    return [f"{key}={value}".encode() for key, value in advert.txt]


def _same_service(a: Advert, b: Advert) -> bool:
    """Only the TXT record differs: updated in place (a new name needs a new entry group)."""
    return (a.name, a.service_type, a.port, a.subtypes, a.loopback_only) == (
        b.name,
        b.service_type,
        b.port,
        b.subtypes,
        b.loopback_only,
    )


# --- python-zeroconf --------------------------------------------------------------------------


class ZeroconfPublisher:
    """mDNS answered by printgate itself, where no avahi-daemon runs. python-zeroconf gives an
    instance one service type, so the subtypes are not announced here."""

    def __init__(self, configured_host: str):
        self.host = configured_host or f"{socket.gethostname()}.local"
        self._zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
        self._infos: dict[str, tuple[AsyncServiceInfo, Advert]] = {}

    async def publish(self, advert: Advert) -> None:
        known = self._infos.get(advert.key)
        if known is not None and known[1] == advert:
            return
        info = AsyncServiceInfo(
            f"{advert.service_type}.local.",
            f"{advert.name}.{advert.service_type}.local.",
            port=advert.port,
            properties=dict(advert.txt),
            server=f"{self.host.removesuffix('.')}.",
            parsed_addresses=["127.0.0.1"] if advert.loopback_only else _addresses(),
        )
        if known is not None:
            await self._zeroconf.async_unregister_service(known[0])
        await self._zeroconf.async_register_service(info, allow_name_change=True)
        self._infos[advert.key] = (info, advert)
        log.info("advertised %s as %r (zeroconf)", advert.service_type, advert.name)

    async def withdraw(self, key: str) -> None:
        known = self._infos.pop(key, None)
        if known is not None:
            await self._zeroconf.async_unregister_service(known[0])

    async def close(self) -> None:
        await self._zeroconf.async_unregister_all_services()
        await self._zeroconf.async_close()


def _addresses() -> list[str]:
    import ifaddr

    found = [
        str(ip.ip)
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]
    return found or ["127.0.0.1"]


async def open_publisher(backend: str, host: str) -> Publisher:
    if backend in ("auto", "avahi"):
        try:
            return await AvahiPublisher.connect(host)
        except DiscoveryError as exc:
            if backend == "avahi":
                raise
            log.info("avahi-daemon not reachable (%s): advertising with zeroconf", exc)
    return ZeroconfPublisher(host)


# --- the queues' adverts ----------------------------------------------------------------------


class Advertiser:
    """Keeps every queue advertised as it is now; runs as one task of the service."""

    def __init__(self, config: Config, queues: Callable[[], dict[str, QueueView]], tls: bool):
        self.config = config
        self._queues = queues
        self._tls = tls
        self.host = ""
        self._changed = asyncio.Event()

    def printer_changed(self, event: PrinterChanged) -> None:
        """An addon of the printers: their capabilities are in the TXT records."""
        self._changed.set()

    def queues_changed(self, event: QueuesChanged) -> None:
        """A queue was added, changed, renamed or deleted: advertise what is served now."""
        self._changed.set()

    def adverts(self) -> list[Advert]:
        server = self.config.server
        plain = split_address(server.listen[0])[1]
        secure = split_address(server.tls_listen[0])[1] if self._tls and server.tls_listen else 0
        web_scheme, web_port = ("https", secure) if secure else ("http", plain)
        local = loopback_only([*server.listen, *(server.tls_listen if self._tls else ())])
        adverts = []
        for view in self._queues().values():
            name = view.queue.info or view.name
            admin = f"{web_scheme}://{self.host}:{web_port}/queues/{view.name}"
            for service_type, port in (("_ipp._tcp", plain), ("_ipps._tcp", secure)):
                if port:
                    txt = txt_record(view, admin, secure=service_type == "_ipps._tcp")
                    adverts.append(
                        Advert(
                            f"{view.name}/{service_type}",
                            name,
                            service_type,
                            port,
                            tuple(txt.items()),
                            loopback_only=local,
                        )
                    )
        return adverts

    async def run(self) -> None:
        settings = self.config.dns_sd
        try:
            publisher = await open_publisher(settings.backend, settings.host)
        except DiscoveryError as exc:
            log.error("DNS-SD: queues are not advertised: %s", exc)
            return
        self.host = publisher.host.removesuffix(".")
        published: set[str] = set()
        try:
            while True:
                try:
                    current = {a.key: a for a in self.adverts()}
                    for key in sorted(published - set(current)):
                        await publisher.withdraw(key)
                        published.discard(key)
                        log.info("DNS-SD: withdrew %s", key)
                    for advert in current.values():
                        await publisher.publish(advert)
                        published.add(advert.key)
                except DiscoveryError as exc:
                    log.warning("DNS-SD: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), REFRESH_SECONDS)
                self._changed.clear()
        finally:
            await asyncio.shield(publisher.close())


def loopback_only(listen: Sequence[str]) -> bool:
    """Do these listeners answer on loopback addresses only (the embedded default)?"""
    hosts = [split_address(address)[0] for address in listen]
    return bool(hosts) and all(_is_loopback(host) for host in hosts)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- browsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    name: str
    service_type: str
    host: str
    port: int
    txt: dict[str, str]
    addresses: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        scheme = "ipps" if self.service_type.startswith("_ipps") else "ipp"
        path = self.txt.get("rp", "ipp/print")
        return f"{scheme}://{self.host}:{self.port}/{path}"


async def browse(seconds: float) -> list[Found]:
    """IPP printers answering on the network within `seconds`."""
    zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
    seen: set[tuple[str, str]] = set()

    def changed(
        zeroconf: object, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is not ServiceStateChange.Removed:
            seen.add((service_type, name))

    types = ["_ipp._tcp.local.", "_ipps._tcp.local."]
    browser = AsyncServiceBrowser(zeroconf.zeroconf, types, handlers=[changed])
    try:
        await asyncio.sleep(seconds)
        found = []
        for service_type, name in sorted(seen):
            info = AsyncServiceInfo(service_type, name)
            if not await info.async_request(zeroconf.zeroconf, 2000):
                continue
            host = (info.server or "").removesuffix(".") or (info.parsed_addresses() or [""])[0]
            txt = {
                k.decode(errors="replace"): (v or b"").decode(errors="replace")
                for k, v in info.properties.items()
            }
            found.append(
                Found(
                    name.removesuffix(f".{service_type}"),
                    service_type.removesuffix(".local."),
                    host,
                    info.port or 0,
                    txt,
                    tuple(info.parsed_addresses()),
                )
            )
        return found
    finally:
        await browser.async_cancel()
        await zeroconf.async_close()
