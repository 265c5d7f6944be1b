"""The first ten minutes, tried as a new user would: README's set-up puts `printgate` on the PATH,
its examples run as written on the embedded default's queue, its way to the first sign-in
works, a command where there is no printgate data says so in one line (and creates nothing),
`analyze | head` ends quietly, `jobs --json` names each job's output file, and the lists can be
listed."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from gateway.config import embedded_default
from tests.ipp_call import print_job
from tests.peers import REPO_ROOT, Printgate, make_pdf, wait_for

README = (REPO_ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent  # where `pip install .` put the `printgate` command


def section(title: str) -> str:
    return README.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def shell(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", line],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def user_env(**extra: str) -> dict[str, str]:
    """A new user's shell: `printgate` on the PATH (as the set-up's link makes it), no config."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PRINTGATE_CONFIG")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def test_the_set_up_command_leaves_printgate_on_the_path() -> None:
    (setup,) = sh_blocks(section("Set-up"))[:1]
    steps = [step.strip() for step in setup.strip().split("&&")]
    assert steps[-1] == "printgate serve", "the examples' own spelling starts it"
    link = steps.index('ln -sf "$PWD/.venv/bin/printgate" /usr/local/bin/printgate')
    assert steps.index(".venv/bin/pip install .") < link
    # The examples say `printgate`, never a path to it.
    for title in ("Queues, users and credentials", "What a job cost and what to charge"):
        for block in sh_blocks(section(title)):
            for line in block.splitlines():
                assert ".venv" not in line and "printgate-data/" not in line.split("#")[0]


def test_the_examples_name_only_the_embedded_default_queues() -> None:
    queues = {q.name for q in embedded_default(Path("/x")).queues}
    named = set(re.findall(r"/ipp/print/([\w.-]+)", README))
    named |= set(re.findall(r"printgate (?:user|project|department) \w+ ([\w.-]+)", README))
    named |= set(re.findall(r"--queue ([\w.-]+)", README))
    named.discard("<queue>")
    assert named and named <= queues, named - queues


async def test_readme_examples_run_as_written_and_the_first_sign_in(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    """The embedded default (on a free port: 8631 may be taken on a test machine), then the
    README's commands verbatim in the directory it runs in."""
    here = tmp_path / "checkout"
    here.mkdir()
    default = embedded_default(here)
    gw = printgate_factory(
        {
            "printers": [{"name": p.name, "uri": p.uri} for p in default.printers],
            "queues": [
                {"name": q.name, "printers": list(q.printers), "info": q.info}
                for q in default.queues
            ],
        },
        data_dir=default.server.data_dir,
    )
    env = user_env(PRINTGATE_CONFIG=str(gw.config_path))
    (examples,) = sh_blocks(section("Queues, users and credentials"))
    for line in examples.splitlines():
        done = shell(line, here, env)
        assert done.returncode == 0, f"{line}\n{done.stderr}"

    users = json.loads(shell("printgate user list demo --json", here, env).stdout)
    assert users == [
        {
            "name": "alice",
            "status": "disabled",
            "password": True,
            "first_name": "",
            "last_name": "",
            "email": "alice@example.org",
            "address": "",
        }
    ]
    table = shell("printgate project list demo", here, env).stdout.splitlines()
    assert table == ["NAME        STATUS   PASSWORD", "Project146  enabled  no"]
    assert "Engineering" in shell("printgate department list demo", here, env).stdout
    assert (here / "users.csv").read_text().startswith("USERNAME,PASSWORD")
    admins = shell("printgate admin list", here, env).stdout
    assert re.search(r"^boss +admin +boss@example.org", admins, re.M), admins

    # `jobs --json` names each job's output file, and has no second, unmeasured count.
    pdf = make_pdf(tmp_path / "doc.pdf", pages=2).read_bytes()
    job_id = print_job(gw.queue_uri("demo"), pdf, name="first-job")

    def recorded() -> dict[str, Any] | None:
        jobs = json.loads(shell("printgate jobs --json", here, env).stdout)
        job: dict[str, Any] = next(j for j in jobs if j["id"] == job_id)
        return job if job["state"] == "completed" and job["analysis"]["status"] == "done" else None

    output = default.server.data_dir / "output"
    wait_for(lambda: list(output.glob("*.pdf")), timeout=60, what="the job's output file")
    job = wait_for(recorded, timeout=60, interval=0.5, what="the job printed and measured")
    assert (output / f"{job['uuid']}.pdf").read_bytes() == pdf
    assert "impressions" not in job and job["analysis"]["impressions"] == 2
    assert job["printer_reported"] is None  # the virtual printer counts nothing itself

    # README's way to the first administrator's password, on the service's output.
    (grep,) = re.findall(r"`(journalctl -u printgate \| grep [^`]*)`", README)
    found = shell(
        grep.replace("journalctl -u printgate", f"cat {shlex.quote(str(gw.log_path))}"), here, env
    )
    user = re.search(r"user name:\s+(\S+)", found.stdout)
    password = re.search(r"password:\s+(\S+)", found.stdout)
    assert user and password, found.stdout
    assert "http://127.0.0.1:8631/signin" in section("Set-up")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(f"{gw.base_url}/signin") as page:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        assert token, "the sign-in form carries its CSRF token"
        form = {"username": user[1], "password": password[1], "csrf_token": token[1]}
        async with client.post(f"{gw.base_url}/signin", data=form, allow_redirects=False) as signed:
            assert signed.status == 303, await signed.text()
            assert not signed.headers["Location"].startswith("/signin")


def test_a_command_where_there_is_no_data_says_so(tmp_path: Path) -> None:
    """Without a config, a command works on ./printgate-data; where there is none it says so
    and creates nothing, whichever command it is. Only `serve` creates a store."""
    env = user_env()
    expected = (
        f"printgate: no printgate data in {tmp_path / 'printgate-data'}: "
        "run `printgate serve` first, or pass --config\n"
    )
    for command in (
        "printgate jobs",
        "printgate admin list",
        "printf 'wonderland\\n' | printgate user add demo alice --password-stdin",
    ):
        done = shell(command, tmp_path, env)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", expected), command
    assert list(tmp_path.iterdir()) == []
    config = tmp_path / "elsewhere.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "var"}"\n')
    done = shell(f"printgate rates export --config {config}", tmp_path, env)
    assert done.returncode == 2 and f"no printgate data in {tmp_path / 'var'}:" in done.stderr
    assert not (tmp_path / "var").exists()


def test_analyze_into_a_reader_that_leaves_ends_quietly(tmp_path: Path) -> None:
    """`printgate analyze FILE | head`: head leaves before printgate writes; no traceback."""
    pdf = make_pdf(tmp_path / "long.pdf", pages=3)
    analyze = subprocess.Popen(
        [BIN / "printgate", "analyze", str(pdf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=user_env(),
    )
    assert analyze.stdout is not None and analyze.stderr is not None
    analyze.stdout.close()  # the reader is gone before the report is written
    stderr = analyze.stderr.read()
    assert analyze.wait(60) == 141  # as a tool killed by SIGPIPE: 128 + 13
    assert stderr == b""
    # As typed in an interactive shell (no pipefail): the pipe's status is head's.
    head = shell(f"set +o pipefail; printgate analyze {pdf} | head -n 2", tmp_path, user_env())
    assert (head.returncode, head.stdout, head.stderr) == (0, '{\n  "pages": 3,\n', "")
