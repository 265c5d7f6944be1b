"""The checks that keep the house in order (DESIGN.md, "Layout" and "Style"): the import
contracts in pyproject.toml hold and bite, modules stay small, and a job's state changes only in
the job manager. scripts/test.sh runs ruff, mypy and lint-imports before the suite as well."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "webui")
MAX_LINES = 600
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the packages under `tree`, with its pyproject.toml's contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=tree,
        # The packages of `tree`, not the ones installed (editable) into the virtualenv.
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def python_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_the_tree_keeps_the_import_contracts() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_bite(tmp_path: Path) -> None:
    """An IO library imported by the sans-IO codec breaks the build, naming the contract."""
    ignore = shutil.ignore_patterns("__pycache__")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "gateway" / "ipp" / "codec.py").open("a") as codec:
        codec.write("\nimport aiohttp  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "the IPP codec and the pure policy modules do no IO BROKEN" in result.stdout
    assert "gateway.ipp.codec -> aiohttp" in result.stdout  # the copy was checked


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in python_files()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_only_the_job_manager_changes_a_job_state() -> None:
    manager = ROOT / "gateway" / "jobs" / "manager.py"
    call = re.compile(r"(?<!def )\btransition\(")
    callers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in python_files()
        if path.parts[len(ROOT.parts)] == "gateway" and path != manager
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if call.search(line)
    ]
    assert not callers, f"transition( outside gateway/jobs/manager.py: {callers}"
