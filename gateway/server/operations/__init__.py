"""IPP operations: one shared validation step for every request, then one coroutine per
operation from a table. Knows nothing of HTTP: the server hands over a decoded request and the
document stream, and gets back a response (a Message, or pre-encoded bytes on the hot path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ...ipp import Op, Status
from ...ipp import model as m
from ...store.store import StoreUnavailable
from ..queue_attrs import OPERATOR_SET, Origin, QueueView
from ..queue_tables import OPERATIONS, add_support
from . import notify, set_job
from .control import Control
from .core import AuthenticationRequired, Gateway, IppError, IppRequest, Reply
from .documents import Documents
from .job_admin import JobAdmin
from .queries import Queries

__all__ = ["AuthenticationRequired", "Gateway", "IppError", "IppRequest", "Operations", "Reply"]

Handler = Callable[["Operations", IppRequest, QueueView], Awaitable[Reply]]


class Operations(Documents, Control, Queries, JobAdmin):
    def __init__(self, gateway: Gateway):
        self.gw = gateway
        self.admin = gateway.admin
        for view in gateway.queues.values():
            self.admin.bind(view)
        # Get-Printer-Attributes answers by (queue, origin, request bytes but the request-id):
        # clients poll with byte-identical requests, and the answer only changes when the
        # queue's freshness does.
        self._answers: dict[tuple[str, Origin, bytes], tuple[object, bytes]] = {}

    async def handle(self, request: IppRequest) -> Reply:
        try:
            queue = self._validate(request)
            self.admin.bind(queue)
            handler = HANDLERS.get(request.message.code)
            if handler is None:
                raise IppError(Status.OPERATION_NOT_SUPPORTED, "operation not supported")
            return await handler(self, request, queue)
        except IppError as exc:
            return self.response(request, exc.status, message=str(exc), unsupported=exc.unsupported)
        except StoreUnavailable as exc:  # only what needs the store's history: say so, retry
            return self.response(request, Status.SERVICE_UNAVAILABLE, message=str(exc))


HANDLERS: dict[int, Handler] = {
    Op.PRINT_JOB: Operations.print_job,
    Op.VALIDATE_JOB: Operations.validate_job,
    Op.CREATE_JOB: Operations.create_job,
    Op.SEND_DOCUMENT: Operations.send_document,
    Op.CLOSE_JOB: Operations.close_job,
    Op.CANCEL_JOB: Operations.cancel_job,
    Op.CANCEL_MY_JOBS: Operations.cancel_my_jobs,
    Op.GET_JOB_ATTRIBUTES: Operations.get_job_attributes,
    Op.GET_JOBS: Operations.get_jobs,
    Op.GET_PRINTER_ATTRIBUTES: Operations.get_printer_attributes,
    Op.HOLD_JOB: Operations.hold_job,
    Op.RELEASE_JOB: Operations.release_job,
    Op.IDENTIFY_PRINTER: Operations.identify_printer,
    Op.SET_JOB_ATTRIBUTES: set_job.set_job_attributes,
}
# IPP/2.1 and 2.2 (PWG 5100.12): the operator's operations on queues and jobs, and
# multiple-document jobs.
HANDLERS.update(
    {
        Op.PAUSE_PRINTER: Operations.pause_printer,
        Op.PAUSE_PRINTER_AFTER_CURRENT_JOB: Operations.pause_printer,
        Op.RESUME_PRINTER: Operations.resume_printer,
        Op.ENABLE_PRINTER: Operations.enable_printer,
        Op.DISABLE_PRINTER: Operations.disable_printer,
        Op.HOLD_NEW_JOBS: Operations.hold_new_jobs,
        Op.RELEASE_HELD_NEW_JOBS: Operations.release_held_new_jobs,
        Op.RESTART_PRINTER: Operations.restart_printer,
        Op.SHUTDOWN_PRINTER: Operations.shutdown_printer,
        Op.STARTUP_PRINTER: Operations.startup_printer,
        Op.PURGE_JOBS: Operations.purge_jobs,
        Op.CANCEL_JOBS: Operations.cancel_jobs,
        Op.CANCEL_CURRENT_JOB: Operations.cancel_current_job,
        Op.SET_PRINTER_ATTRIBUTES: Operations.set_printer_attributes,
        Op.GET_PRINTER_SUPPORTED_VALUES: Operations.get_printer_supported_values,
        Op.RESTART_JOB: Operations.restart_job,
        Op.REPROCESS_JOB: Operations.reprocess_job,
        Op.RESUBMIT_JOB: Operations.resubmit_job,
        Op.SUSPEND_CURRENT_JOB: Operations.suspend_current_job,
        Op.RESUME_JOB: Operations.resume_job,
        Op.PROMOTE_JOB: Operations.promote_job,
        Op.SCHEDULE_JOB_AFTER: Operations.schedule_job_after,
        Op.CANCEL_DOCUMENT: Operations.cancel_document,
        Op.GET_DOCUMENT_ATTRIBUTES: Operations.get_document_attributes,
        Op.GET_DOCUMENTS: Operations.get_documents,
        Op.SET_DOCUMENT_ATTRIBUTES: Operations.set_document_attributes,
    }
)
add_support(
    operations=[op for op in HANDLERS if op not in OPERATIONS],
    attributes=[m.keyword("printer-settable-attributes-supported", *OPERATOR_SET)],
)
# IPP/2.1 (PWG 5100.12): the subscription operations, and subscription templates in Print-Job
# and Create-Job.
HANDLERS.update(notify.handlers(HANDLERS))
