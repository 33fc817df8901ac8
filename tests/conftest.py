"""Shared fixtures: the sample RunInfo database, a config for it, and e2e skips.

Tests that need a real Apache, sshd or Chromium call `require_binary`: the test is
skipped when the program is missing, unless RUNINFODIFFER_REQUIRE_E2E=1 (set by CI),
where a missing program fails the test instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, Tuple

import pytest

from runinfodiffer.catalog import load_catalog
from runinfodiffer.config import CHECKOUT, load_config
from runinfodiffer.db import connect
from runinfodiffer.runinfo import RunInfoReader

REQUIRE_E2E = os.environ.get("RUNINFODIFFER_REQUIRE_E2E") == "1"


def require_binary(*candidates: str) -> str:
    """Return the path of the first program found; skip (or fail under CI) when none is."""
    for name in candidates:
        found = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if found:
            return found
    message = f"{' or '.join(candidates)} not installed"
    if REQUIRE_E2E:
        pytest.fail(f"{message}, and RUNINFODIFFER_REQUIRE_E2E=1 forbids skipping")
    pytest.skip(message)


def write_config(folder: Path, database: Path, **settings: object) -> Path:
    """Write a runinfodiffer.toml in `folder` for `database`; extra keys as given."""
    lines = [f'database = "sqlite:///{database}"', f'parameter_file = "{CHECKOUT / "diffed_parameters.txt"}"']
    for key, value in settings.items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"')
    path = folder / "runinfodiffer.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Tuple[Path, Dict]:
    """Build the sample database once per session; return (path, manifest). Read-only."""
    from runinfodiffer.sample import build_sample

    path = tmp_path_factory.mktemp("sample") / "sample.sqlite"
    manifest = build_sample(path)
    return path, manifest


@pytest.fixture(scope="session")
def sample_config(sample_db, tmp_path_factory) -> Path:
    """A runinfodiffer.toml pointing at the session's sample database."""
    folder = tmp_path_factory.mktemp("config")
    return write_config(folder, sample_db[0], change_log=str(folder / "BotUrlLog.html"),
                        state=str(folder / "poller-state.json"))


@pytest.fixture()
def reader(sample_config):
    """A RunInfoReader on the sample database; closed after the test."""
    config = load_config(str(sample_config))
    database = connect(config)
    yield RunInfoReader(database, load_catalog(config.parameter_file))
    database.close()


@pytest.fixture()
def web(sample_db, tmp_path, monkeypatch):
    """Point the app at the sample database with a fresh change log and state path."""
    path, manifest = sample_db
    config = write_config(tmp_path, path, change_log=str(tmp_path / "BotUrlLog.html"),
                          state=str(tmp_path / "poller-state.json"))
    monkeypatch.setenv("RUNINFODIFFER_CONFIG", str(config))
    return {"config": config, "manifest": manifest, "db": path, "tmp": tmp_path}
