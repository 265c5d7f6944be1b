"""Wires everything from the config and owns start-up and shutdown order.

Start-up: store (migrated) -> spool (orphans removed) -> jobs (active ones loaded) -> printers
(attributes fetched) -> queues -> listeners -> dispatching. Shutdown runs the other way: stop
accepting, stop dispatching (jobs under way stay recorded mid-forward and are reconciled on
the next start), close the store last.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import secrets
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path

import uvloop
from aiohttp import web

from .accounting.accountant import Accountant
from .accounting.linked_lists import LinkedLists
from .accounting.lists import Lists
from .accounting.rates import Rates
from .addons import metrics
from .addons.dnssd import Advertiser
from .addons.meter_check import MeterCheck
from .addons.metrics import Metrics
from .addons.printer_finder import find as find_printers
from .analysis.runner import Analyzer
from .config import Config, ConfigError, load, split_address
from .hooks import Hooks
from .identity.gate import Gate
from .identity.ldap import LdapDirectory
from .identity.release import ReleaseDesk
from .identity.sql import SqlIdentity
from .jobs.manager import JobManager
from .jobs.spool import Spool
from .maintenance import report_schedules, restore, scheduled_backups
from .maintenance.report_schedules import ReportSchedules
from .maintenance.scheduled_backups import ScheduledBackups
from .printers.dispatcher import Dispatcher
from .printers.ipp_client import IppClient
from .printers.state import Printer, load_cached, refresh
from .runtime import logs
from .runtime.console_settings import ConsoleSettings
from .runtime.mail import Mailer
from .runtime.passwords import hash_password
from .runtime.scheduler import Recurring, Scheduler
from .runtime.sdnotify import Notifier
from .runtime.tls import TlsContext, TlsError, ensure_self_signed, tls_files
from .server.app import make_app
from .server.notifier import Notifier as EventNotifier
from .server.operations import Gateway, Operations
from .server.queue_attrs import QueueView
from .server.queues_live import LiveQueues, Wiring
from .snmp import fleet_settings
from .snmp.service import Fleet, open_fleet
from .store import printer_setup
from .store.journal import Journal
from .store.store import Store
from .tasks import TaskKeeper

log = logging.getLogger(__name__)
FIRST_FETCH_TIMEOUT = 15.0
EXIT_GRACE = 5.0  # seconds after the shutdown timeout before the process is ended outright
WEB_ADDONS = "printgate.web"


class StartupError(RuntimeError):
    """printgate cannot start; the message is the one line the operator sees."""


def _pending_tasks() -> str:
    """What a slow shutdown waits for: each unfinished task and the line it waits at."""
    current = asyncio.current_task()
    described = []
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        frames = task.get_stack(limit=1)
        where = f"{frames[0].f_code.co_filename}:{frames[0].f_lineno}" if frames else "?"
        described.append(f"{task.get_name()} at {where}")
    return "; ".join(sorted(described)) or "no tasks (a thread, then)"


def instance_id(data_dir: Path) -> str:
    """This printgate's lasting id, kept in its data directory."""
    path = data_dir / "instance-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = uuid.uuid4().hex
        path.write_text(value + "\n")
        return value


@dataclass
class Service:
    config: Config
    tasks: TaskKeeper = field(default_factory=TaskKeeper)
    ready: bool = False
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    directory: LdapDirectory | None = None
    analyzer: Analyzer | None = None
    spool: Spool | None = None
    fleet: Fleet | None = None
    notifier: Notifier = field(default_factory=Notifier)
    tls: TlsContext | None = None
    next_config: Config | None = None  # set by a SIGHUP that changed more than TLS material

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # File system calls (spool writes, fsyncs) wait on the disk, not the CPU: enough threads
        # that concurrent jobs never queue behind each other's fsync.
        loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="io"))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        async with self.running() as gateway:
            self.notifier.ready(f"serving {len(gateway.queues)} queues")
            self.tasks.spawn(self.notifier.watchdog_loop(), name="watchdog")
            try:
                await self.stopping.wait()
                log.info("stopping")
            finally:
                if self.next_config is None:
                    self.notifier.stopping()
                    # Should the process still be here well after the timeout (a thread that
                    # never returns keeps Python from exiting), every thread's stack goes to the
                    # log and the process ends: SIGTERM must end printgate.
                    faulthandler.dump_traceback_later(
                        self.config.server.shutdown_timeout + EXIT_GRACE, exit=True
                    )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Gateway]:
        """The whole gateway, serving, for as long as the block runs (what `run` does between
        the process's signals; tests use it in-process). Shutdown is bounded by the config's
        shutdown_timeout."""
        self.tls = self._tls()
        store = await Store.open(self.config.database_url, self.tasks)
        client = IppClient()
        runner: web.AppRunner | None = None
        try:
            runner, gateway = await self._start(store, client)
            yield gateway
        finally:
            self.ready = False
            try:
                async with asyncio.timeout(self.config.server.shutdown_timeout):
                    await self._shutdown(runner, client, store)
            except TimeoutError:
                log.error(
                    "shutdown took longer than %.0f s: exiting with work unfinished (the store"
                    " has every job's state; the next start resumes them); still waiting: %s",
                    self.config.server.shutdown_timeout,
                    _pending_tasks(),
                )

    async def _shutdown(
        self, runner: web.AppRunner | None, client: IppClient, store: Store
    ) -> None:
        """Stop accepting, let requests under way finish within the shutdown timeout, then stop
        forwarding (jobs under way are recorded mid-forward, reconciled at the next start) and
        write what is queued for the store."""
        if runner is not None:
            await runner.shutdown()
            await runner.cleanup()
        await self.tasks.cancel_all()
        if self.directory is not None:
            self.directory.close()
        if self.analyzer is not None:
            self.analyzer.close()
        if self.spool is not None:
            self.spool.close()
        if self.fleet is not None:
            self.fleet.close()
        await client.close()
        await store.close()

    def _tls(self) -> TlsContext | None:
        server = self.config.server
        if not server.tls:
            return None
        try:
            files = tls_files(server.data_dir, server.tls_cert, server.tls_key)
            ensure_self_signed(files)
            return TlsContext(files)
        except (TlsError, OSError) as exc:
            raise StartupError(str(exc)) from exc

    def _reload(self) -> None:
        """SIGHUP: TLS material is reloaded in place (open connections carry on); a config
        whose queues, printers or other settings changed restarts the service in-process."""
        self.notifier.reloading()
        try:
            config = load(self.config.source) if self.config.source != "embedded default" else None
        except ConfigError as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            self.notifier.ready()
            return
        if self.tls is not None:
            try:
                self.tls.reload()
                log.info("TLS certificate %s reloaded", self.tls.files.cert)
            except TlsError as exc:
                log.error("TLS reload refused, keeping the old certificate: %s", exc)
        if config is None or config == self.config:
            self.notifier.ready()
            return
        log.info("configuration %s changed: restarting the service", config.source)
        self.next_config = config
        self.stopping.set()

    async def _start(self, store: Store, client: IppClient) -> tuple[web.AppRunner, Gateway]:
        config = self.config
        await self._first_admin(store)
        uuids = await store.provision(config)
        console_made = await printer_setup.load(store)
        spool = self.spool = Spool(config.spool_dir, config.server.max_document_bytes)
        instance = instance_id(config.server.data_dir)
        journal = Journal(config.server.data_dir / "journal.jsonl", instance)
        hooks = Hooks()  # the addons below join it once they are made
        jobs = JobManager(store, instance=instance, journal=journal, hooks=hooks)
        active = await jobs.load_active()
        removed = spool.remove_orphans(j.document_path for j in active)
        log.info("%d active jobs resumed, %d orphan spool files removed", len(active), removed)
        # The printers and queues of the TOML and of the console: one live set that console
        # saves change while printgate runs (server/queues_live.py).
        live = LiveQueues(
            store,
            Wiring(
                client,
                hooks,
                self.tasks,
                config.server.data_dir,
                config.jobs.retry_initial_delay,
                config.server.max_document_bytes,
            ),
            jobs,
        )
        live.load(config, uuids, console_made)
        printers, queues = live.printers, live.queues
        for printer in printers.values():
            load_cached(printer)
        await self._fetch_all(printers)
        # Console printers with SNMP access are read like the TOML's (from the next start).
        every_printer = tuple(p.config for p in printers.values())
        # Mail and the advertised host as saved in the console's Preferences, else the TOML's.
        console_settings = ConsoleSettings(store, config)
        mailer = await console_settings.mailer()
        # The fleet's schedules and networks as saved in the console, else the TOML's.
        snmp = (await fleet_settings.in_force(config.snmp, store)).applied(config.snmp)
        fleet_config = replace(config, printers=every_printer, snmp=snmp)
        self.fleet = await open_fleet(fleet_config, store, mailer)
        meter = self.fleet.meter() if self.fleet is not None else None
        meter_check = MeterCheck(meter, jobs) if meter is not None else None
        dispatcher = Dispatcher(config, jobs, printers, spool, self.tasks, meter_check, queues=())
        accountant = self._accountant(jobs, spool, store, printers, queues)
        gate = Gate(SqlIdentity(Lists(store)), self._directory())
        desk = ReleaseDesk(jobs, dispatcher, gate, {}, {})
        live.attach(dispatcher, desk)
        fleet_client = self.fleet.client if self.fleet is not None else None
        live.finder = lambda: find_printers(config, queues, printers, fleet_client)
        monitoring = Metrics(store, jobs, printers, lambda: gate.directory)
        events = EventNotifier(lambda: queues)  # IPP event subscriptions
        advertiser = None
        if config.dns_sd.advertise:
            host = await console_settings.dns_sd_host()
            advertised = replace(config, dns_sd=replace(config.dns_sd, host=host))
            advertiser = Advertiser(advertised, lambda: queues, self.tls is not None)
        # The addons, in the order they hear each event.
        for addon in (accountant, meter_check, monitoring, advertiser, events):
            if addon is not None:
                hooks.add(addon)
        gateway = Gateway(queues, jobs, spool, dispatcher, self.tasks, gate, desk, live_queues=live)
        gateway.notifier = events
        app = make_app(Operations(gateway), config.server.max_attribute_bytes, lambda: self.ready)
        web_config = config.web
        metrics.setup(
            app, monitoring, metrics.Access(web_config.metrics_token_file, web_config.metrics_allow)
        )
        for web_addon in entry_points(group=WEB_ADDONS):
            web_addon.load()(app, gateway, config)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=config.server.shutdown_timeout / 2,
        )
        await runner.setup()
        await self._listen(runner)
        dispatcher.start()
        accountant.resume(active)
        self.tasks.spawn(self._refresh_loop(printers), name="printer-refresh")
        self.tasks.spawn(desk.expire_loop(config.jobs.hold_expiry), name="hold-expiry")
        self.tasks.spawn(jobs.replay_loop(), name="journal-replay")
        await self._start_recurring(store, mailer)
        if advertiser is not None:
            self.tasks.spawn(advertiser.run(), name="dns-sd")
        self.ready = True
        self._banner(list(queues))
        return runner, gateway

    def _accountant(
        self,
        jobs: JobManager,
        spool: Spool,
        store: Store,
        printers: dict[str, Printer],
        queues: dict[str, QueueView],
    ) -> Accountant:
        settings = self.config.analysis
        self.analyzer = Analyzer(settings.workers, settings.timeout, settings.memory_limit_mb << 20)

        def model_of(printer: str) -> str:
            return printers[printer].model if printer in printers else ""

        def queue_model(queue: str) -> str:
            view = queues.get(queue)
            return view.primary.model if view is not None else ""

        return Accountant(
            jobs,
            spool,
            self.analyzer,
            Rates(store),
            self.tasks,
            settings,
            model_of=model_of,
            queue_model=queue_model,
        )

    async def _start_recurring(self, store: Store, mailer: Mailer) -> None:
        """Fleet monitoring (when SNMP is configured), scheduled backups (on the console's
        schedule when one was saved there, else the TOML's), and the shared scheduler that
        runs them on their timetables."""
        recurring: list[Recurring] = []
        if self.fleet is not None:
            self.tasks.spawn(self.fleet.monitor.poll_loop(), name="snmp-poll")
            recurring += self.fleet.recurring()
        backup = await scheduled_backups.in_force(self.config.backup, store)
        if backup.schedule:
            backups = ScheduledBackups(self.config, store, mailer)
            recurring.append(Recurring("backup", backup.schedule, backups.run))
        if self.config.lists.linked_dirs:  # the lists linked to CSV files, read again
            mail_settings = ConsoleSettings(store, self.config).mailer
            linked = LinkedLists(store, self.config.lists, mail_settings)
            every = f"every {max(1, round(self.config.lists.linked_interval))}s"
            recurring.append(Recurring("linked-lists", every, linked.refresh_all))
        # Reports scheduled in the console: looked for on a short tick (they come and go).
        reports = ReportSchedules(store, ConsoleSettings(store, self.config))
        recurring.append(Recurring("report-schedules", report_schedules.TICK, reports.run_due))
        if recurring:
            self.tasks.spawn(Scheduler(store, recurring).run(), name="scheduler")

    async def _listen(self, runner: web.AppRunner) -> None:
        server = self.config.server
        plain = [(a, None) for a in server.listen]
        secure = [(a, self.tls.context) for a in server.tls_listen] if self.tls else []
        for address, context in [*plain, *secure]:
            host, port = split_address(address)
            try:
                await web.TCPSite(
                    runner, host, port, reuse_address=True, ssl_context=context
                ).start()
            except OSError as exc:
                raise StartupError(f"cannot listen on {address}: {exc.strerror}") from exc

    def _directory(self) -> LdapDirectory | None:
        if self.config.directory is None:
            return None
        self.directory = LdapDirectory(self.config.directory)
        return self.directory

    async def _fetch_all(self, printers: dict[str, Printer]) -> None:
        async def one(printer: Printer) -> None:
            try:
                await asyncio.wait_for(
                    refresh(printer, self.config.jobs.retry_initial_delay), FIRST_FETCH_TIMEOUT
                )
            except TimeoutError:
                printer.mark_down("no answer at start-up", self.config.jobs.retry_initial_delay)

        await asyncio.gather(*(one(p) for p in printers.values()))

    async def _refresh_loop(self, printers: dict[str, Printer]) -> None:
        """Keep capabilities current; bring back printers that went down."""
        settings = self.config.jobs
        last: dict[str, float] = {}
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for printer in list(printers.values()):  # the console may add or remove some
                due = (not printer.up and now >= printer.retry_at) or (
                    now - last.get(printer.name, now) >= settings.printer_refresh_interval
                )
                last.setdefault(printer.name, now)
                if due and not printer.busy.locked():
                    last[printer.name] = now
                    await refresh(printer, settings.retry_max_delay)

    async def _first_admin(self, store: Store) -> None:
        if await store.count_app_users():
            return
        password = secrets.token_urlsafe(12)
        # Gateways starting together on one database: exactly one of them creates it.
        if await store.add_first_app_user(
            "admin", hash_password(password), "admin", "admin@localhost", "Administrator"
        ):
            rule = "=" * 72
            print(
                f"\n{rule}\n  First administrator: printgate's first console account\n\n"
                f"      user name:  admin\n      password:   {password}\n\n"
                "  Shown this once. Sign in at the web console's /signin and choose a new\n"
                f"  password there (it is asked at the first sign-in).\n{rule}\n",
                flush=True,
            )

    def _banner(self, queues: list[str]) -> None:
        for address in self.config.server.listen:
            host, port = split_address(address)
            shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
            for queue in queues:
                print(f"Queue {queue}: ipp://{shown}:{port}/ipp/print/{queue}", flush=True)
            print(f"Web UI: http://{shown}:{port}/", flush=True)
        for address in self.config.server.tls_listen if self.tls else ():
            host, port = split_address(address)
            shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
            for queue in queues:
                print(f"Queue {queue}: ipps://{shown}:{port}/ipp/print/{queue}", flush=True)
            print(f"Web UI: https://{shown}:{port}/", flush=True)
        print(f"Data: {self.config.server.data_dir}  (config: {self.config.source})", flush=True)


def serve(config: Config) -> int:
    logs.setup()
    next_config: Config | None = config
    while next_config is not None:
        # Until the loop's own handler is in place, a reload request must not kill the process.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        next_config.server.data_dir.mkdir(parents=True, exist_ok=True)
        # A restore staged in the console replaces the data before the store is opened.
        restore.apply_pending(next_config)
        service = Service(next_config)
        with (
            asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
            contextlib.suppress(KeyboardInterrupt),
        ):
            try:
                runner.run(service.run())
            except StartupError as exc:
                print(f"printgate: {exc}", file=sys.stderr)
                return 1
        next_config = service.next_config
    return 0
