"""The command line: exit statuses, messages, the remote_run form and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from runinfodiffer.config import CHECKOUT

SCRIPT = CHECKOUT / "cgi-bin" / "Run_Info_Diff.py"


def run(*args, config=None, env_extra=None):
    command = [sys.executable, str(SCRIPT), *args]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    if config is not None:
        env["RUNINFODIFFER_CONFIG"] = str(config)
    env.update(env_extra or {})
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_remote_run_prints_diff(sample_db, sample_config):
    pair = sample_db[1]["demo_pair"]
    result = run("remote_run", str(pair["run1"]), str(pair["run2"]), config=sample_config)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(f"Run {pair['run1']} -> {pair['run2']}: ")
    for parameter in pair["changes"]:
        assert f"== {parameter} [" in result.stdout
    assert "Traceback" not in result.stderr


def test_remote_run_partitions_as_words(sample_db, sample_config):
    pair = sample_db[1]["demo_pair"]
    result = run("remote_run", str(pair["run1"]), str(pair["run2"]), "hcal_hf", "--format=json",
                 config=sample_config)
    data = json.loads(result.stdout)
    assert data["partitions"] == ["HCAL_HF"]
    expected = sorted(name for name, parts in pair["changes"].items() if "HCAL_HF" in parts)
    assert sorted(change["parameter"] for change in data["changes"]) == expected
    assert result.returncode == (1 if expected else 0)


def test_json_keys(sample_db, sample_config):
    pair = sample_db[1]["demo_pair"]
    result = run("remote_run", str(pair["run1"]), str(pair["run2"]), "--format=json", config=sample_config)
    data = json.loads(result.stdout)
    assert list(data) == ["run1", "run2", "partitions", "not_taking_part", "stats", "changes"]
    change = data["changes"][0]
    assert list(change)[:4] == ["parameter", "partitions", "old_recorded", "new_recorded"]
    assert "hunks" in change


def test_same_run_no_differences(sample_db, sample_config):
    pair = sample_db[1]["demo_pair"]
    result = run("remote_run", str(pair["run1"]), str(pair["run1"]), config=sample_config)
    assert result.returncode == 0
    assert "no differences" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("remote_run", "abc", "5"), "run number must be a non-negative integer, got 'abc'"),
        (("remote_run", "-5", "5"), "run number must be a non-negative integer, got '-5'"),
        (("remote_run", "99999999999999999999", "5"), "run number 99999999999999999999 is too large"),
        (("remote_run", "1", "2", "HCAL_XX"), "unknown partition 'HCAL_XX': valid partitions are HCAL_HBHE"),
        (("remote_run", "1", "2"), "run 1 not found"),
        (("remote_run", "5"), "remote_run needs two run numbers"),
        (("remote_run", "330_019", "5"), "run number must be a non-negative integer, got '330_019'"),
        (("remote_run", "330019", "330025", "--budget", "-1"), "expected a non-negative integer, got '-1'"),
        (("frobnicate",), "unknown mode 'frobnicate'"),
    ],
)
def test_errors_exit_2_with_message(args, message, sample_config):
    result = run(*args, config=sample_config)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_database_missing(tmp_path):
    result = run("remote_run", "1", "2", "--database=sqlite:///" + str(tmp_path / "absent.sqlite"))
    assert result.returncode == 2
    assert "database file not found" in result.stderr


def test_schema_missing(tmp_path):
    empty = tmp_path / "empty.sqlite"
    import sqlite3

    sqlite3.connect(str(empty)).close()
    result = run("remote_run", "1", "2", f"--database=sqlite:///{empty}")
    assert result.returncode == 2
    assert "no such table" in result.stderr
    assert "check-db" in result.stderr


def test_check_db(sample_db, sample_config):
    pair = sample_db[1]["demo_pair"]
    result = subprocess.run([sys.executable, "-m", "runinfodiffer", "check-db", str(pair["run2"]),
                             "--config", str(sample_config)], capture_output=True, text=True, cwd=CHECKOUT)
    assert result.returncode == 0, result.stderr
    assert "RUNSESSION_PARAMETER and RUNSESSION_STRING readable" in result.stdout
    assert f"run {pair['run2']}: " in result.stdout


def test_color_only_on_terminal(sample_db, sample_config):
    import os
    import pty

    pair = sample_db[1]["demo_pair"]
    piped = run("remote_run", str(pair["run1"]), str(pair["run2"]), config=sample_config)
    assert "\033[" not in piped.stdout

    primary, secondary = pty.openpty()
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "RUNINFODIFFER_CONFIG": str(sample_config)}
    process = subprocess.Popen([sys.executable, str(SCRIPT), "remote_run", str(pair["run1"]), str(pair["run2"])],
                               stdout=secondary, stderr=subprocess.PIPE, env=env)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(primary)
    assert b"\033[31m-" in output
    assert b"\033[32m+" in output


def test_debug_shows_traceback(sample_config):
    result = run("remote_run", "1", "2", "--debug", config=sample_config)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def runinfodiffer(*args, config):
    return subprocess.run([sys.executable, "-m", "runinfodiffer", *args, "--config", str(config)],
                          capture_output=True, text=True, cwd=CHECKOUT, timeout=120)


@pytest.mark.parametrize(
    "args, message",
    [
        (("history", "FM_URI", "--from", "0", "--to", "2000000000"), "the maximum is 200,000"),
        (("history", "NO_SUCH_PARAMETER", "--from", "330010", "--to", "330080"),
         "no run from 330010 to 330080 records NO_SUCH_PARAMETER"),
        (("history", "uHTRManager_Firmware_Crate22", "-p", "HCAL_HBHE", "--from", "330010", "--to", "330080"),
         "uHTRManager_Firmware_Crate22 is diffed for HCAL_HF only, not HCAL_HBHE"),
        (("history", "FM_URI", "--from", "330010", "--to", "330080", "--lookback", "-1"),
         "expected a non-negative integer"),
        (("check-db", "999999"), "run 999999 not found"),
        (("sample-db", "/proc/no/sample.sqlite"), "cannot write the sample database /proc/no/sample.sqlite"),
        (("sample-db", "/tmp/x.sqlite", "--runs", "-3"), "expected a non-negative integer, got '-3'"),
    ],
)
def test_command_errors_exit_2(args, message, sample_config):
    result = runinfodiffer(*args, config=sample_config)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_remote_run_option_with_separate_value(sample_db, sample_config):
    pair = sample_db[1]["demo_pair"]
    result = run("remote_run", str(pair["run1"]), str(pair["run2"]), "HCAL_HF", "--format", "json",
                 config=sample_config)
    assert json.loads(result.stdout)["partitions"] == ["HCAL_HF"]


def test_swapped_runs_get_no_revert_marks(sample_db, sample_config):
    manifest = sample_db[1]
    revert = next(i for i in manifest["injections"] if i["kind"] == "revert" and i["parameter"] == "HCAL_DAQ_RELEASE")
    pair = next(p for p in manifest["pairs"] if p["run2"] == revert["run"])
    forward = json.loads(run("remote_run", str(pair["run1"]), str(pair["run2"]), "--format=json",
                             config=sample_config).stdout)
    backward = json.loads(run("remote_run", str(pair["run2"]), str(pair["run1"]), "--format=json",
                              config=sample_config).stdout)
    assert any(change["reverted_to"] for change in forward["changes"])
    assert not any(change["reverted_to"] for change in backward["changes"])
