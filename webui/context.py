"""What the web UI reads and does, handed in once by `webui.app.setup`.

The pages see this context and nothing else of the gateway: the queue views, a queue's jobs,
the release desk's held jobs and claims, the configuration and the SNMP records. Only
`from_gateway` knows where these live inside the service, so gateway's internals can move
without the pages noticing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from gateway.accounting.linked_lists import LinkedLists
from gateway.config import Config, QueueConfig
from gateway.identity.accounts import Accounts
from gateway.identity.gate import Decision
from gateway.identity.ldap import LdapDirectory
from gateway.identity.protocol import Directory
from gateway.identity.release import Claim
from gateway.jobs.record import Job
from gateway.jobs.state import ACTIVE_STATES, TERMINAL_STATES
from gateway.runtime.console_settings import ConsoleSettings
from gateway.runtime.mail import Mailer
from gateway.server import job_feed
from gateway.server.job_feed import JobFeed
from gateway.server.operations import Gateway, IppRequest, Operations, Reply
from gateway.server.queue_attrs import QueueView
from gateway.server.queues_live import LiveQueues
from gateway.snmp import records, report
from gateway.snmp.report import ReportRow
from gateway.store.store import Store


@dataclass(frozen=True)
class OpenAlert:
    """An SNMP alert episode not yet closed, with the address of its device."""

    device: str
    message: str
    opened: datetime


@dataclass(frozen=True)
class Fleet:
    """The printers read over SNMP: one row per device (as in the mailed meter report), and the
    alerts still open."""

    rows: list[ReportRow]
    alerts: list[OpenAlert]


@dataclass(frozen=True)
class WebContext:
    config: Config
    store: Store
    accounts: Accounts
    queues: Mapping[str, QueueView]
    queued_count: Callable[[str], int]  # a queue's jobs not yet ended
    recent_jobs: Callable[[str, int], Awaitable[list[Job]]]  # queue, at most: newest first
    held_jobs: Callable[[], Awaitable[list[Job]]]  # waiting for credentials, oldest first
    claim: Callable[[int, Claim], Awaitable[Job]]  # ReleaseError, for the claimant, if refused
    fleet: Callable[[], Awaitable[Fleet]]
    mailer: Callable[[], Awaitable[Mailer]]  # the outgoing mail settings in force now
    settings: ConsoleSettings  # Preferences saved in the store, over the TOML's
    use_directory: Callable[[Directory | None], None]  # the gate checks with this one now
    # Printers and groups: the live set, changed by console saves at once (None: not served).
    live_queues: LiveQueues | None = None
    # The live jobs view: jobs' changes fanned out to the console's event streams, a job by
    # id (the live record when it is active), and cancelling one (None: not served).
    job_feed: JobFeed | None = None
    find_job: Callable[[int], Awaitable[Job | None]] | None = None
    cancel_job: Callable[[Job, str], Awaitable[None]] | None = None  # job, by whom
    # Queue lists linked to a CSV file on this machine (the grids' "Link this path").
    linked_lists: LinkedLists | None = None
    # My printing: who credentials prove on a queue (its sign-in), cancelling a held job (id,
    # by whom), a person's jobs on a queue (queue, user, at most; newest first), and an IPP
    # request handled in-process by the operations the IPP endpoint uses (web print).
    identify: Callable[[QueueConfig, str, str | None], Awaitable[Decision]] | None = None
    cancel_held: Callable[[int, str], Awaitable[None]] | None = None
    person_jobs: Callable[[str, str, int], Awaitable[list[Job]]] | None = None
    handle_ipp: Callable[[IppRequest], Awaitable[Reply]] | None = None


CONTEXT_KEY = web.AppKey("webui-context", WebContext)


def from_gateway(gateway: Gateway, config: Config) -> WebContext:
    """The context of a running service, from the object its IPP operations act on."""
    jobs = gateway.jobs
    desk = gateway.desk

    async def recent_jobs(queue: str, limit: int) -> list[Job]:
        states = ACTIVE_STATES + TERMINAL_STATES
        return await jobs.list(queue, states, limit=limit, newest_first=True)

    async def held_jobs() -> list[Job]:
        return await desk.held()

    async def person_jobs(queue: str, user: str, limit: int) -> list[Job]:
        states = ACTIVE_STATES + TERMINAL_STATES
        return await jobs.list(queue, states, user=user, limit=limit, newest_first=True)

    settings = ConsoleSettings(jobs.store, config)

    async def mailer() -> Mailer:
        return await settings.mailer()

    configured = gateway.gate.directory  # the TOML's: the service closes it at shutdown

    def use_directory(directory: Directory | None) -> None:
        previous, gateway.gate.directory = gateway.gate.directory, directory
        if isinstance(previous, LdapDirectory) and previous is not configured:
            previous.close()  # an earlier console save's: its worker threads go with it

    return WebContext(
        config=config,
        store=jobs.store,
        accounts=Accounts(jobs.store),
        queues=gateway.queues,
        queued_count=jobs.queued_count,
        recent_jobs=recent_jobs,
        held_jobs=held_jobs,
        claim=desk.claim,
        fleet=lambda: read_fleet(jobs.store, config),
        mailer=mailer,
        settings=settings,
        use_directory=use_directory,
        live_queues=gateway.live_queues,
        job_feed=job_feed.joined(gateway.jobs.hooks),
        find_job=jobs.get,
        cancel_job=lambda job, by: gateway.dispatcher.cancel(
            job, "job-canceled-by-user", f"Canceled by {by}"
        ),
        linked_lists=LinkedLists(jobs.store, config.lists, settings.mailer),
        identify=gateway.gate.identify,
        cancel_held=desk.cancel,
        person_jobs=person_jobs,
        handle_ipp=Operations(gateway).handle,
    )


async def read_fleet(store: Store, config: Config) -> Fleet:
    rows = await report.rows_from_store(store, config.snmp, keep_dropped=True)
    addresses = {device.id: device.address for device in await records.devices(store)}
    alerts = [
        OpenAlert(addresses.get(alert.device_id, ""), alert.message, alert.opened_at)
        for alert in await records.open_alerts(store)
    ]
    return Fleet(rows, alerts)
