"""IPP operations: one shared validation step for every request, then one coroutine per
operation from a table. Knows nothing of HTTP: the server hands over a decoded request and the
document stream, and gets back a response (a Message, or pre-encoded bytes on the hot path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ...ipp import Op, Status
from ...store.store import StoreUnavailable
from ..queue_attrs import Origin, QueueView
from . import notify, set_job
from .control import Control
from .core import AuthenticationRequired, Gateway, IppError, IppRequest, Reply
from .creating import Creating
from .queries import Queries

__all__ = ["AuthenticationRequired", "Gateway", "IppError", "IppRequest", "Operations", "Reply"]

Handler = Callable[["Operations", IppRequest, QueueView], Awaitable[Reply]]


class Operations(Creating, Control, Queries):
    def __init__(self, gateway: Gateway):
        self.gw = gateway
        # Get-Printer-Attributes answers by (queue, origin, request bytes but the request-id):
        # clients poll with byte-identical requests, and the answer only changes when the
        # queue's freshness does.
        self._answers: dict[tuple[str, Origin, bytes], tuple[object, bytes]] = {}

    async def handle(self, request: IppRequest) -> Reply:
        try:
            queue = self._validate(request)
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
# IPP/2.1 (PWG 5100.12): the subscription operations, and subscription templates in Print-Job
# and Create-Job.
HANDLERS.update(notify.handlers(HANDLERS))
