"""The web release page: a job held for lack of credentials is claimed in a browser form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gateway.ipp import JobState
from tests.ipp_call import job_state, print_job
from tests.peers import IppEvePrinter, Printgate, wait_for
from tests.test_credentials import printgate_cli
from tests.web_client import SyncWebClient


def test_a_held_job_is_claimed_on_the_release_page(
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
    assert job_state(uri, job_id)[0] == JobState.PENDING_HELD

    web = SyncWebClient(gw.base_url)
    status, page_text = web.get("/release")
    assert status == 200
    assert f'action="/release/{job_id}"' in page_text and "boarding pass" in page_text

    claim = {"user": "dana", "project": "Nope"}
    status, page_text = web.post(f"/release/{job_id}", claim, "/release")
    assert status == 400 and "not a project of this queue" in page_text
    assert job_state(uri, job_id)[0] == JobState.PENDING_HELD

    status, page_text = web.post(
        f"/release/{job_id}",
        {
            "user": "dana",
            "project": "Project146",
            "billable_offered": "1",
            "comment": "for the trip",
        },
        "/release",
    )
    assert status == 200 and f"Job {job_id} is released" in page_text  # after the redirect
    wait_for(lambda: job_state(uri, job_id)[0] == JobState.COMPLETED, 30, what="printed")
    jobs = printgate_cli(gw, "jobs", "--json")
    assert '"user": "dana"' in jobs and '"project": "Project146"' in jobs
    assert '"billable": false' in jobs
