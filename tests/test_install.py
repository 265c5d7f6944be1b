"""The README's production install, walked in a scratch root: `pip install .` into a fresh
virtual environment under opt/, the config, the system user (systemd-sysusers), the unit
(systemd-analyze verify), then the unit's ExecStart as systemd would run it (Type=notify), and
`printgate check`. The installed printgate serves its web templates and static files from the
installed package, not from this checkout."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from tests.peers import REPO_ROOT, find_binary, free_port, toml_dumps

README = REPO_ROOT / "README.md"
RELOCATED = ("/opt/", "/etc/", "/usr/local/", "/var/lib/")
SKIPPED = ("apt-get ",)


def install_steps() -> list[str]:
    text = README.read_text()
    section = text.split("## Production install", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "no sh block in the Production install section"
    return [line for line in block.group(1).splitlines() if line.strip()]


def relocate(line: str, root: Path) -> str:
    for prefix in RELOCATED:
        line = line.replace(f" {prefix}", f" {root}{prefix}")
        if line.startswith(prefix):
            line = f"{root}{line}"
    return line


def run(line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", line],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_readme_production_install_yields_a_working_service(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for directory in ("opt", "etc/systemd/system", "usr/local/bin", "var/lib/printgate"):
        (root / directory).mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PRINTGATE_CONFIG")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    port = free_port()
    queue = f"install-{uuid.uuid4().hex[:6]}"
    service: subprocess.Popen[bytes] | None = None
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    config = root / "etc/printgate/printgate.toml"
    try:
        for line in install_steps():
            if line.startswith(SKIPPED):
                continue
            if line.startswith("systemd-sysusers "):
                # Into the scratch root's /etc/passwd, not the machine's.
                target = relocate(line, root).split()[-1]
                line = f"{find_binary('systemd-sysusers')} --root={root} {target}"
                run(line, env)
                assert "printgate:" in (root / "etc/passwd").read_text()
                continue
            if line.startswith("systemctl daemon-reload"):
                unit = root / "etc/systemd/system/printgate.service"
                here = unit.read_text().replace("/opt/", f"{root}/opt/")
                (tmp_path / "printgate.service").write_text(here)
                verify = run(f"systemd-analyze verify {tmp_path / 'printgate.service'}", env)
                assert verify.returncode == 0, verify.stderr
                continue
            if line.startswith("systemctl enable"):
                # The README says: edit the config before this step.
                config.write_text(
                    toml_dumps(
                        {
                            "server": {
                                "listen": [f"127.0.0.1:{port}"],
                                "data_dir": str(root / "var/lib/printgate"),
                            },
                            "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
                            "queues": [{"name": queue, "printers": ["v"]}],
                        }
                    )
                )
                service = _start_like_systemd(root, tmp_path, env)
                _wait_ready(notify)
                continue
            result = run(relocate(line, root), env)
            assert result.returncode == 0, (
                f"{line}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            )
            if "printgate check" in line:
                assert f"ok    dns-sd {queue}" in result.stdout, result.stdout
        assert service is not None, "the README never starts the service"
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/", timeout=10) as page:  # to the sign-in page
            assert b"<html" in page.read().lower()
        with urllib.request.urlopen(f"{base}/static/style.css", timeout=10) as css:
            assert css.status == 200
        installed = root / "opt/printgate/lib"
        site = next(installed.glob("python3*/site-packages"))
        # Templates in their area folders and the message catalogs are installed too.
        assert (site / "webui/templates/console/preferences/index.html").is_file()
        assert (site / "webui/locale/fr/console.po").is_file()
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0
    finally:
        notify.close()
        if service is not None and service.poll() is None:
            service.kill()
            service.wait()


def _start_like_systemd(root: Path, tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    unit = (root / "etc/systemd/system/printgate.service").read_text()
    exec_start = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    argv = [relocate(f" {a}", root).strip() for a in shlex.split(exec_start.split("=", 1)[1])]
    assert Path(argv[0]).is_relative_to(root / "opt/printgate"), argv
    service_env = {**env, "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "30000000"}
    log = (tmp_path / "service.log").open("wb")
    return subprocess.Popen(
        argv, cwd=root / "var/lib/printgate", env=service_env, stdout=log, stderr=log
    )


def _wait_ready(notify: socket.socket) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        notify.settimeout(max(0.1, deadline - time.monotonic()))
        if "READY=1" in notify.recv(4096).decode().split("\n"):
            return
    raise AssertionError("the installed service never said READY=1")
