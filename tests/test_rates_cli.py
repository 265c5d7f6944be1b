"""`printgate rates` and `printgate settings`: the README's example file loads; a bad file or
setting is refused in one line and changes nothing; every change is in the audit log."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.store.audit import AuditFilter, entries
from gateway.store.store import Store
from tests.peers import REPO_ROOT, toml_dumps


@pytest.fixture
def config(tmp_path: Path, database_url: str, store: Store) -> Path:
    """A config on a store that exists (as `printgate serve` leaves it: the commands refuse to
    create one)."""
    path = tmp_path / "printgate.toml"
    path.write_text(
        toml_dumps(
            {"server": {"data_dir": str(tmp_path / "data")}, "database": {"url": database_url}}
        )
    )
    return path


def printgate(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def readme_rates() -> dict[str, Any]:
    readme = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"```json\n(.*?)```", readme, re.S)
    assert block, "README shows a rate file"
    parsed: dict[str, Any] = json.loads(block.group(1))
    return parsed


def load_example(config: Path) -> None:
    result = printgate(config, "rates", "import", "-", stdin=json.dumps(readme_rates()))
    assert result.returncode == 0, result.stderr


def exported(config: Path) -> dict[str, Any]:
    result = printgate(config, "rates", "export")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_the_readme_example_loads_and_exports_the_same(config: Path) -> None:
    example = readme_rates()
    result = printgate(config, "rates", "import", "-", stdin=json.dumps(example))
    assert result.returncode == 0, result.stderr
    assert "1 printer model(s) imported" in result.stdout
    back = exported(config)
    assert back["settings"]["currency"] == "EUR" and back["settings"]["tax_rate"] == "21"
    model = back["models"]["HP DesignJet T1700"]
    assert model["cost"] == example["models"]["HP DesignJet T1700"]["cost"]
    assert model["ml_per_m2"] == {"c": 9, "m": 9, "y": 9, "k": 8}
    shown = printgate(config, "settings", "show", "--json")
    assert json.loads(shown.stdout)["units"] == "metric"


def test_a_bad_file_is_refused_whole(config: Path, tmp_path: Path) -> None:
    assert (
        printgate(config, "rates", "import", "-", stdin=json.dumps(readme_rates())).returncode == 0
    )
    before = exported(config)
    bad = readme_rates()
    bad["settings"]["currency"] = "EURO"
    bad["models"]["Other"] = {"cost": {"lines": {"mono_lines": {"ml": "1"}}}}
    result = printgate(config, "rates", "import", "-", stdin=json.dumps(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "ISO 4217" in result.stderr
    bad["settings"]["currency"] = "USD"
    result = printgate(config, "rates", "import", "-", stdin=json.dumps(bad))
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "printgate: -: models.Other: ml rates need the model's ml_per_m2"
    )
    not_json = tmp_path / "rates.json"
    not_json.write_text("{")
    result = printgate(config, "rates", "import", str(not_json))
    assert result.returncode == 2 and "not JSON" in result.stderr
    assert exported(config) == before


def test_a_setting_that_would_break_the_tables_is_refused(config: Path) -> None:
    assert (
        printgate(config, "rates", "import", "-", stdin=json.dumps(readme_rates())).returncode == 0
    )
    result = printgate(config, "settings", "set", "cost_basis", "coverage")
    assert result.returncode == 2
    assert "'mono_lines' is not a line of the coverage basis" in result.stderr
    result = printgate(config, "settings", "set", "tax_rate", "abc")
    assert result.returncode == 2 and "tax_rate" in result.stderr
    assert printgate(config, "settings", "set", "units", "imperial").returncode == 0
    assert exported(config)["settings"]["units"] == "imperial"
    assert exported(config)["settings"]["cost_basis"] == "categories"


def test_removing_a_models_tables(config: Path) -> None:
    assert (
        printgate(config, "rates", "import", "-", stdin=json.dumps(readme_rates())).returncode == 0
    )
    assert printgate(config, "rates", "remove", "HP DesignJet T1700").returncode == 0
    assert exported(config)["models"] == {}
    result = printgate(config, "rates", "remove", "HP DesignJet T1700")
    assert result.returncode == 2 and "no tables" in result.stderr


async def test_each_change_is_confirmed_and_audited(config: Path, store: Store) -> None:
    example = readme_rates()
    load_example(config)
    changed = printgate(config, "settings", "set", "tax_rate", "20")
    assert (changed.returncode, changed.stdout) == (0, "tax_rate = 20 (was 21)\n")
    again = printgate(config, "settings", "set", "tax_rate", "20")
    assert again.stdout == "tax_rate = 20\n"
    fresh = printgate(config, "settings", "set", "rates_include_tax", "true")
    assert fresh.stdout == "rates_include_tax = true (was false)\n"  # the default was in force
    edited = readme_rates()
    edited["settings"] = {"currency": "USD"}
    edited["models"]["HP DesignJet T1700"]["cost"]["service"] = "0.30"
    assert printgate(config, "rates", "import", "-", stdin=json.dumps(edited)).returncode == 0
    removed = printgate(config, "rates", "remove", "HP DesignJet T1700")
    assert removed.stdout == "the tables of HP DesignJet T1700 are removed\n"

    log = list(reversed(await entries(store, AuditFilter())))
    assert {(e.actor, e.source) for e in log} == {("cli", "cli")}
    assert [(e.action, e.target) for e in log] == [
        ("rates.import", "HP DesignJet T1700"),
        ("settings.set", "tax_rate"),  # setting it again to the same value changed nothing
        ("settings.set", "rates_include_tax"),
        ("rates.import", "HP DesignJet T1700"),
        ("rates.remove", "HP DesignJet T1700"),
    ]
    first, tax, included, second, remove = log
    assert first.before == {"settings": {k: None for k in example["settings"]}, "models": {}}
    assert first.after["models"] == example["models"]
    assert (tax.before, tax.after) == ({"tax_rate": "21"}, {"tax_rate": "20"})
    assert (included.before, included.after) == (
        {"rates_include_tax": None},
        {"rates_include_tax": "true"},
    )
    model = example["models"]["HP DesignJet T1700"]
    assert second.before == {
        "settings": {"currency": "EUR"},
        "models": {"HP DesignJet T1700": model},
    }
    assert second.after["settings"] == {"currency": "USD"}
    assert second.after["models"]["HP DesignJet T1700"]["cost"]["service"] == "0.30"
    assert remove.before == {"HP DesignJet T1700": edited["models"]["HP DesignJet T1700"]}
    assert remove.after == {}


async def test_a_refused_change_is_not_audited(config: Path, store: Store) -> None:
    assert printgate(config, "settings", "set", "tax_rate", "abc").returncode == 2
    bad = readme_rates()
    bad["settings"]["currency"] = "EURO"
    assert printgate(config, "rates", "import", "-", stdin=json.dumps(bad)).returncode == 2
    assert await entries(store, AuditFilter()) == []
