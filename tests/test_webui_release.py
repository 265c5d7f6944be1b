"""Claiming a held job in My printing, against printgate run as `printgate serve`: the job
held for lack of credentials is seen from the address it came from, and released by the person
who signs in there with the project the queue asks for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gateway.ipp import JobState
from tests.ipp_call import job_state, print_job
from tests.peers import IppEvePrinter, Printgate, wait_for
from tests.test_credentials import printgate_cli
from tests.web_client import SyncWebClient


def test_a_held_job_is_claimed_in_my_printing(
    printgate_factory: Callable[..., Printgate], ippeveprinter: IppEvePrinter, tmp_pdf: Path
) -> None:
    gw = printgate_factory(
        {
            "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
            "queues": [
                {
                    "name": "phones",
                    "printers": ["eve"],
                    "auth": "username",
                    "require": ["project"],
                    "allow_billable": True,
                    "allow_comment": True,
                }
            ],
        }
    )
    printgate_cli(gw, "project", "add", "phones", "Project146")
    uri = gw.queue_uri("phones")
    job_id = print_job(uri, tmp_pdf.read_bytes(), name="boarding pass", user="Pixel 7")
    state, _reasons, message = job_state(uri, job_id)
    assert state == JobState.PENDING_HELD and message.endswith("/queues/phones")

    web = SyncWebClient(gw.base_url)
    status, page_text = web.get("/queues/phones")  # from the address the job came from
    assert status == 200 and "boarding pass" in page_text
    assert f'action="/me/jobs/{job_id}/release"' not in page_text  # not before sign-in
    status, page_text = web.post(
        "/me/signin", {"queue": "phones", "name": "dana", "next": "/queues/phones"}, "/me/signin"
    )
    assert status == 200 and f'action="/me/jobs/{job_id}/release"' in page_text

    claim = {"project": "Nope", "back": "/queues/phones"}
    status, page_text = web.post(f"/me/jobs/{job_id}/release", claim, "/queues/phones")
    assert status == 400 and "not a project of this queue" in page_text
    assert job_state(uri, job_id)[0] == JobState.PENDING_HELD

    status, page_text = web.post(
        f"/me/jobs/{job_id}/release",
        {"project": "Project146", "comment": "for the trip", "back": "/queues/phones"},
        "/queues/phones",
    )
    assert status == 200 and f"Job {job_id} is released" in page_text  # after the redirect
    wait_for(lambda: job_state(uri, job_id)[0] == JobState.COMPLETED, 30, what="printed")
    jobs = printgate_cli(gw, "jobs", "--json")
    assert '"user": "dana"' in jobs and '"project": "Project146"' in jobs
    assert '"billable": false' in jobs  # the box left unticked
