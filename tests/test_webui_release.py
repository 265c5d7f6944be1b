"""The web release page: a job held for lack of credentials is claimed in a browser form."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from gateway.ipp import JobState
from tests.ipp_call import job_state, print_job
from tests.peers import IppEvePrinter, Printgate, wait_for
from tests.test_credentials import printgate_cli


def _post(gw: Printgate, path: str, form: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        gw.base_url + path, data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


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

    status, page = gw.get("/release")
    assert status == 200
    assert f'action="/release/{job_id}"' in page.decode() and "boarding pass" in page.decode()

    status, page_text = _post(gw, f"/release/{job_id}", {"user": "dana", "project": "Nope"})
    assert status == 400 and "not a project of this queue" in page_text
    assert job_state(uri, job_id)[0] == JobState.PENDING_HELD

    status, page_text = _post(
        gw,
        f"/release/{job_id}",
        {
            "user": "dana",
            "project": "Project146",
            "billable_offered": "1",
            "comment": "for the trip",
        },
    )
    assert status == 200 and f"Job {job_id} is released" in page_text  # after the redirect
    wait_for(lambda: job_state(uri, job_id)[0] == JobState.COMPLETED, 30, what="printed")
    jobs = printgate_cli(gw, "jobs", "--json")
    assert '"user": "dana"' in jobs and '"project": "Project146"' in jobs
    assert '"billable": false' in jobs
