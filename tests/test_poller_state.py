"""Poller state file, lock, backoff and summary line: the parts without a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from runinfodiffer.backoff import Backoff
from runinfodiffer.changelog import Comparison
from runinfodiffer.errors import ConfigError
from runinfodiffer.poller import summarize
from runinfodiffer.files import LockHeld
from runinfodiffer.state import PollerState, StateLock, load_state, lock_path, save_state


def test_state_round_trip(tmp_path):
    path = tmp_path / "state.json"
    state = PollerState(330020, {"HCAL_HF": 330012, "HCAL_HO": 330005}, 8, "2026-12-04T20:00:00Z",
                        "2026-12-04T20:00:01Z", 4242)
    save_state(path, state)
    assert load_state(path) == state
    assert json.loads(path.read_text()) == {
        "last_run": 330020, "baselines": {"HCAL_HF": 330012, "HCAL_HO": 330005}, "next_entry_id": 8,
        "heartbeat": "2026-12-04T20:00:00Z", "last_poll": "2026-12-04T20:00:01Z", "pid": 4242, "values": {},
        "recent_globals": [],
    }
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_state_missing_is_none(tmp_path):
    assert load_state(tmp_path / "absent.json") is None


@pytest.mark.parametrize("text, problem", [
    ("{", "invalid poller state"),
    ('{"last_run": "330020"}', "last_run must be an integer"),
    ('{"last_run": 1, "baselines": {"HCAL_HF": "x"}}', "baselines must map"),
    ('{"last_run": 1, "next_entry_id": 0}', "next_entry_id must be a positive integer"),
    ("[]", "expected a JSON object"),
])
def test_state_invalid_raises(tmp_path, text, problem):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_state(path)
    assert problem in str(caught.value)
    assert "delete it to start at the latest global run" in str(caught.value)


def test_lock_names_holder_pid(tmp_path):
    state = tmp_path / "state.json"
    # The holder is another process, so the pid in the lock file differs from ours.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from runinfodiffer.state import StateLock; "
         f"lock = StateLock({str(state)!r}); lock.acquire(); print('locked', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True, cwd=os.getcwd(),
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert lock_path(state).read_text().strip() == str(holder.pid)
        with pytest.raises(LockHeld) as caught:
            StateLock(state).acquire()
        assert f"pid {holder.pid}" in str(caught.value)
        assert caught.value.exit_status == 2
        # The failed attempt must not have erased the holder's pid.
        assert lock_path(state).read_text().strip() == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()

    with StateLock(state):
        assert lock_path(state).read_text().strip() == str(os.getpid())


def test_backoff_doubles_to_cap():
    backoff = Backoff(1.0, maximum=10.0)
    assert [backoff.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_backoff_never_overflows():
    backoff = Backoff(0.001)
    delays = [backoff.next_delay() for _ in range(5000)]
    assert delays[-1] == 600.0
    assert backoff.failures < 30


def test_summary_groups_by_baseline():
    comparisons = [
        Comparison(330012, 330020, ["HCAL_HBHE", "HCAL_HF"], 3, "u", "t"),
        Comparison(330005, 330020, ["HCAL_HO"], 1, "u", "t"),
    ]
    assert summarize(330020, comparisons) == (
        "Run 330020: 3 parameters changed in HCAL_HBHE, HCAL_HF (since run 330012); "
        "1 in HCAL_HO (since run 330005)"
    )
    assert summarize(330020, comparisons[1:]) == "Run 330020: 1 parameter changed in HCAL_HO (since run 330005)"
