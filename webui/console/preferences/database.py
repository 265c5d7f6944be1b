"""Preferences, Database: back up now (the archive of `printgate backup`, downloaded), scheduled
backups (the console's values override [backup] of the TOML), restore from an uploaded archive,
and SmartTracker's clean-up.

A restore is checked at once, exactly as `printgate restore` checks an archive before touching
anything, and staged: printgate applies it when it next starts, before it opens its store, so
the running gateway never has its store swapped under it. Staging is refused while jobs are
unfinished (their records would be replaced)."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from gateway.maintenance import cleanup, restore, scheduled_backups
from gateway.maintenance.backup import BackupError, write_backup
from gateway.maintenance.scheduled_backups import BackupSettingsError
from gateway.store import audit

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from ...security.guard import accepts_upload
from ...security.uploads import read_form
from .common import actor, context

PAGE = "/preferences/database"
MAX_ARCHIVE = 8 << 30  # an archive carries the documents of unfinished jobs too
CHUNK = 1 << 20
MAX_YEARS = 100


async def show(
    request: web.Request,
    status: int = 200,
    schedule_form: Form | None = None,
    restore_error: str = "",
    cleanup_form: Form | None = None,
    backup_error: str = "",
) -> web.Response:
    ctx = context(request)
    base = ctx.config.backup
    stored = await scheduled_backups.overrides(ctx.store)
    settings = scheduled_backups.merged(base, stored)
    if schedule_form is None:
        schedule_form = Form(
            {
                "schedule": settings.schedule,
                "directory": str(settings.directory),
                "keep": str(settings.keep),
                "notify": "on" if settings.notify else "",
            }
        )
    return render(
        request,
        "console/preferences/database.html",
        status,
        schedule_form=schedule_form,
        from_console=bool(stored),
        toml=base,
        pending=await asyncio.to_thread(restore.pending, ctx.config),
        restore_error=restore_error,
        cleanup_form=cleanup_form or Form({"years": "3"}),
        done=request.query.get("done", ""),
        counts=_counts(request.query.get("counts", "")),
        backup_error=backup_error,
    )


def _counts(text: str) -> dict[str, str]:
    """The figures a clean-up's redirect carries, by name."""
    parts = text.split(",")
    if len(parts) != 4 or not all(part.isdigit() for part in parts):
        return {}
    return dict(zip(("users", "projects", "departments", "jobs"), parts, strict=True))


async def backup_now(request: web.Request) -> web.StreamResponse:
    """The archive, written to a temporary file and streamed to the browser."""
    ctx = context(request)
    name = f"printgate-{datetime.now():%Y%m%d-%H%M%S}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="printgate-console-backup-") as folder:
        target = Path(folder) / name
        try:
            manifest = await write_backup(ctx.config, target)
        except (BackupError, OSError) as exc:
            message = gettext("The backup failed: %(e)s", e=str(exc))
            return await show(request, 500, backup_error=message)
        await audit.append(
            ctx.store,
            actor(request),
            "database.backup",
            name,
            None,
            {"rows": sum(manifest.tables.values()), "files": len(manifest.files)},
        )
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/gzip",
                "Content-Disposition": f'attachment; filename="{name}"',
                "Content-Length": str(target.stat().st_size),
            }
        )
        await response.prepare(request)
        with target.open("rb") as source:
            while chunk := await asyncio.to_thread(source.read, CHUNK):
                await response.write(chunk)
        await response.write_eof()
        return response


async def save_schedule(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    form = Form(await request.post())
    if form.raw("action") == "reset":
        await scheduled_backups.reset(ctx.store, actor(request))
        raise web.HTTPSeeOther(f"{PAGE}?done=schedule")
    schedule = form.text("schedule", max_length=200)
    directory = form.text("directory", required=True, max_length=1000)
    keep = form.integer("keep", minimum=1, maximum=scheduled_backups.MAX_KEEP)
    if form.ok and keep is not None:
        try:
            settings = scheduled_backups.checked(schedule, directory, keep, form.boolean("notify"))
        except BackupSettingsError as exc:
            form.error(exc.field, exc.message)
    if not form.ok:
        return await show(request, 400, schedule_form=form)
    await scheduled_backups.save(ctx.store, actor(request), ctx.config.backup, settings)
    raise web.HTTPSeeOther(f"{PAGE}?done=schedule")


@accepts_upload
async def stage_restore(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    if not request.content_type.startswith("multipart/"):
        return await show(request, 400, restore_error=gettext("Choose a backup archive."))
    async with read_form(request, MAX_ARCHIVE) as upload:
        archive = upload.files.get("archive")
        if archive is None or not archive.size:
            return await show(request, 400, restore_error=gettext("Choose a backup archive."))
        unfinished = await restore.active_jobs(ctx.store)
        if unfinished:
            message = gettext(
                "%(n)s jobs are not finished: restore once they have ended (or are canceled);"
                " nothing was changed.",
                n=unfinished,
            )
            return await show(request, 409, restore_error=message)
        who = actor(request)
        try:
            manifest = await asyncio.to_thread(
                restore.stage, ctx.config, archive.path, archive.filename or "archive", who.name
            )
        except BackupError as exc:
            message = gettext("This archive was refused, nothing was changed: %(e)s", e=str(exc))
            return await show(request, 400, restore_error=message)
    await audit.append(
        ctx.store,
        who,
        "database.restore.staged",
        archive.filename,
        None,
        {"archive_created": manifest.created, "printgate_version": manifest.printgate_version},
    )
    raise web.HTTPSeeOther(f"{PAGE}?done=staged")


async def cancel_restore(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    found = await asyncio.to_thread(restore.pending, ctx.config)
    if await asyncio.to_thread(restore.cancel_pending, ctx.config):
        target = found.filename if found is not None else ""
        await audit.append(ctx.store, actor(request), "database.restore.canceled", target)
    raise web.HTTPSeeOther(f"{PAGE}?done=canceled")


def _cutoff(form: Form) -> datetime | None:
    """The cut-off of a planned clean-up: from `before` (fixed when planned) or `years`."""
    before = form.raw("before")
    if before:
        try:
            moment = datetime.fromisoformat(before)
        except ValueError:
            form.error("years", gettext("The clean-up plan has expired: plan it again."))
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    years = form.integer("years", minimum=1, maximum=MAX_YEARS)
    return None if years is None else cleanup.cutoff_for(years)


async def cleanup_plan(request: web.Request) -> web.StreamResponse:
    """What a clean-up would delete, the CSV of those jobs (?format=csv), and the button that
    deletes. Without a number of years, the Database page."""
    form = Form(request.query)
    if not form.raw("years") and not form.raw("before"):
        return await show(request)
    cutoff = _cutoff(form)
    if cutoff is None:
        return await show(request, 400, cleanup_form=form)
    if form.raw("format") == "csv":
        return await _cleanup_csv(request, cutoff)
    plan = await cleanup.plan(context(request).store, cutoff)
    return render(
        request,
        "console/preferences/database_cleanup.html",
        plan=plan,
        before=cutoff.isoformat(),
        years=form.raw("years"),
    )


async def _cleanup_csv(request: web.Request, cutoff: datetime) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": (
                f'attachment; filename="printgate-jobs-before-{cutoff:%Y-%m-%d}.csv"'
            ),
        }
    )
    await response.prepare(request)
    async for chunk in cleanup.old_jobs_csv(context(request).store, cutoff):
        await response.write(chunk)
    await response.write_eof()
    return response


async def cleanup_run(request: web.Request) -> web.StreamResponse:
    form = Form(await request.post())
    cutoff = _cutoff(form)
    if cutoff is None or not form.raw("before"):
        return await show(request, 400, cleanup_form=form)
    if cutoff > datetime.now(UTC):
        form.error("years", gettext("A clean-up deletes only jobs of the past."))
        return await show(request, 400, cleanup_form=form)
    done = await cleanup.clean_up(context(request).store, actor(request), cutoff)
    counts = ",".join(str(done.removed.get(kind, 0)) for kind in ("user", "project", "department"))
    raise web.HTTPSeeOther(f"{PAGE}?done=cleanup&counts={counts},{done.jobs}")


def register(app: web.Application) -> None:
    app.router.add_get("/database", show)
    app.router.add_post("/database/backup", backup_now)
    app.router.add_post("/database/schedule", save_schedule)
    app.router.add_post("/database/restore", stage_restore)
    app.router.add_post("/database/restore/cancel", cancel_restore)
    app.router.add_get("/database/cleanup", cleanup_plan)
    app.router.add_post("/database/cleanup", cleanup_run)
