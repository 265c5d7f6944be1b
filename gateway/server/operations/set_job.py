"""Set-Job-Attributes (RFC 3380, PWG 5100.12 for IPP/2.1): a job not yet sent to a printer
takes a new name, priority, copies or job-hold-until, and a job the gate held takes the
accounting attributes it lacked, then faces the gate again. A job the printer has, or one that
ended, is past changing: client-error-not-possible."""

from __future__ import annotations

from ...identity.release import held_for_credentials
from ...ipp import Attribute, JobState, Status, Tag
from ...ipp.supported import decode_template, encode_template, unsupported_part
from ...jobs.record import Job
from ...jobs.state import HELD, INCOMING, ForwardPhase, HeldBySubmitter, IllegalTransition, Queued
from ..queue_attrs import HOLD_UNTIL, QueueView
from ..queue_tables import JOB_SETTABLE
from .control import Control
from .core import IppError, IppRequest, Reply
from .privacy import authorize

ACCOUNTING = ("job-account-id", "job-accounting-user-id", "job-password")
NAME_TAGS = (Tag.NAME, Tag.TEXT, Tag.NAME_WITH_LANGUAGE, Tag.TEXT_WITH_LANGUAGE)


def _refused(attribute: Attribute, queue: QueueView) -> bool:
    """Whether the queue cannot take this value."""
    name = attribute.name
    if len(attribute.values) != 1:
        return True
    if name == "job-name":
        return attribute.tag not in NAME_TAGS
    if name == "job-hold-until":
        return attribute.tag not in (Tag.KEYWORD, Tag.NAME) or attribute.text() not in HOLD_UNTIL
    if name == "job-priority":
        value = attribute.integer()
        return attribute.tag != Tag.INTEGER or value is None or not 1 <= value <= 100
    if name == "copies":
        if attribute.tag != Tag.INTEGER:
            return True
        return unsupported_part(attribute, queue.static_group()) is not None
    return False


async def set_job_attributes(ops: Control, request: IppRequest, queue: QueueView) -> Reply:
    job = await ops._job(request, queue)
    group = request.message.group(Tag.JOB)
    if group is None or not group.attributes:
        raise IppError(Status.BAD_REQUEST, "no job attributes to set")
    not_settable = [a for a in group if a.name not in JOB_SETTABLE]
    if not_settable:
        raise IppError(
            Status.ATTRIBUTES_NOT_SETTABLE,
            f"{', '.join(a.name for a in not_settable)} cannot be set",
            not_settable,
        )
    for_credentials = held_for_credentials(job)
    if not for_credentials:  # whoever claims a held job proves it with the credentials
        await authorize(ops.gw, request, queue, job)
    _check_changeable(job)
    bad = [a for a in group if _refused(a, queue)]
    if bad:
        raise IppError(Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED, "values not supported", bad)
    names = set(group.names())
    template = [a for a in decode_template(job.template) if a.name not in names]
    changes: dict[str, object] = {
        "template": encode_template([*template, *(a for a in group if a.name != "job-name")])
    }
    if (name := group.get("job-name")) is not None:
        changes["name"] = (name.text() or "")[:255]
    if (copies := group.get("copies")) is not None:
        changes["copies"] = copies.integer() or 1
    await ops.gw.jobs.update(job, **changes)
    if (hold := group.get("job-hold-until")) is not None:
        await _hold(ops, job, hold.text() or "no-hold")
    notifier = getattr(ops.gw, "notifier", None)
    if notifier is not None:
        notifier.job_event(job, "job-config-changed", f"Job {job.id} changed.")
    if for_credentials and names & set(ACCOUNTING):
        return await ops._readmit(request, queue, job)
    return ops.response(request, Status.OK)


def _check_changeable(job: Job) -> None:
    if job.is_terminal:
        raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is already {job.state.name.lower()}")
    if job.state in (JobState.PROCESSING, JobState.PROCESSING_STOPPED) or (
        job.forward_phase != ForwardPhase.NONE
    ):
        raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is already sent to a printer")


async def _hold(ops: Control, job: Job, until: str) -> None:
    """job-hold-until as Hold-Job and Release-Job would set it."""
    try:
        if INCOMING in job.reasons or held_for_credentials(job):
            await ops.gw.jobs.update(job, hold_until=until)
        elif job.state == JobState.PENDING and until != "no-hold":
            await ops.gw.jobs.apply(job, HeldBySubmitter(), hold_until=until)
        elif job.state == JobState.PENDING_HELD and HELD in job.reasons and until == "no-hold":
            await ops.gw.jobs.apply(job, Queued(), hold_until="no-hold")
            ops.gw.dispatcher.submit(job)
        else:
            await ops.gw.jobs.update(job, hold_until=until)
    except IllegalTransition:  # the dispatcher took it meanwhile
        raise IppError(Status.NOT_POSSIBLE, f"job {job.id} is already sent to a printer") from None
