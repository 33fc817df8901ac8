"""The whole notification chain on 127.0.0.1, for the end-to-end test and `make bench`.

    sample database --(poller)--> BotUrlLog.html --(Apache)--> ssh -D tunnel --> DifferBot
        --> Slack-compatible endpoint

The database is the sample RunInfo database, grown one run at a time with
`append_runs`. The poller (`runinfodiffer poll`) writes the change log into the
checkout copy's `html/`, which Apache serves as a static file (with ETag and 304) next
to the CGI script that renders the text diffs. The bot reads both through a real SSH
SOCKS tunnel and posts to the local endpoint.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from .apache import Apache, cgi_venv, prepare_site, start_apache, tail
from .bot_site import CHECKOUT, bot_env, start_bot, write_bot_config
from .slack_endpoint import SlackEndpoint
from .ssh_tunnel import SshTunnel

SCRIPT_PATH = "/cgi-bin/RunInfoDiffer/viewDiffer.py"


class Pipeline:
    """Starts every part in `__enter__` and stops them in `__exit__`; `grow` adds runs."""

    def __init__(self, scratch: Path, poll_interval: float, bot_interval: float,
                 sshd: str = "/usr/sbin/sshd", ssh: str = "ssh") -> None:
        self.scratch = Path(scratch)
        self.poll_interval = poll_interval
        self.bot_interval = bot_interval
        self.sshd_path, self.ssh_path = sshd, ssh
        self.processes: Dict[str, subprocess.Popen] = {}
        #: Run number -> wall-clock time at which it was committed, Running included.
        self.visible_at: Dict[int, float] = {}
        self.apache: Optional[Apache] = None
        self.slack = SlackEndpoint()
        self.tunnel = SshTunnel(self.scratch / "ssh", sshd=sshd, ssh=ssh)

    def __enter__(self) -> "Pipeline":
        from runinfodiffer.changelog import write_entries
        from runinfodiffer.sample import build_sample, manifest_path

        self.scratch.mkdir(parents=True, exist_ok=True)
        built = self.scratch / "sample.sqlite"
        build_sample(built)
        self.site = prepare_site(CHECKOUT, built, cgi_venv(), prefix="runinfodiffer-bot-e2e-")
        self.database = self.site.database
        shutil.copy2(manifest_path(built), manifest_path(self.database))
        self.change_log = self.site.checkout / "html" / "BotUrlLog.html"
        self.poller_state = self.site.folder / "data" / "poller-state.json"
        self.bot_state = self.scratch / "bot-state.json"
        self.logs = self.scratch

        apache_folder = self.site.folder / "apache"
        apache_folder.mkdir(mode=0o755)
        self.apache = start_apache(apache_folder, self.site.checkout,
                                   env={"RUNINFODIFFER_CONFIG": str(self.site.config)})
        self._rewrite_config()
        # An empty log, as after the first deployment: the bot starts from "no entries"
        # instead of waiting for the poller's first entry and starting after it.
        write_entries(self.change_log, [])

        self.processes["poller"] = subprocess.Popen(
            [sys.executable, "-m", "runinfodiffer", "poll", "--config", str(self.site.config),
             "--interval", str(self.poll_interval)],
            env=bot_env(), stdout=open(self.logs / "poller.log", "ab"), stderr=subprocess.STDOUT)
        self._wait(lambda: self.poller_state.exists(), "the poller to write its state", self.logs / "poller.log")
        #: The latest global run at the poller's first start: it is never diffed.
        self.poller_start_run = json.loads(self.poller_state.read_text())["last_run"]

        self.slack.__enter__()
        self.tunnel.__enter__()
        config = write_bot_config(self.scratch, change_log_url=f"{self.apache.url}/RunInfoDiffer/BotUrlLog.html",
                                  proxy=self.tunnel.proxy_url, state=str(self.bot_state),
                                  poll_interval=self.bot_interval)
        self.processes["bot"] = start_bot(config, env=bot_env(self.slack.webhook_url), log=self.logs / "BotLog.txt")
        self._wait(lambda: self.bot_state.exists(), "the bot to write its state", self.logs / "BotLog.txt")
        return self

    def _rewrite_config(self) -> None:
        """Point the change log into html/ and the diff links at Apache's CGI script."""
        lines = [line for line in self.site.config.read_text(encoding="utf-8").splitlines()
                 if not line.startswith(("change_log", "web_base_url"))]
        lines.append(f'change_log = "{self.change_log}"')
        lines.append(f'web_base_url = "{self.apache.url}{SCRIPT_PATH}"')
        self.site.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def grow(self, count: int, pause: float = 0.0) -> List[int]:
        """Append `count` runs one at a time, noting when each became visible; return them."""
        from runinfodiffer.sample import append_runs

        added = []
        for _ in range(count):
            for run in append_runs(self.database, 1):
                self.visible_at[run] = time.time()
                added.append(run)
            time.sleep(pause)
        return added

    def expected_runs(self, runs: List[int]) -> List[int]:
        """Return the runs among `runs` that must get a change-log entry, per the sample manifest.

        The poller starts after the latest global run, which becomes the partitions'
        baseline, so every changed pair from that run on gets an entry.
        """
        from runinfodiffer.sample import manifest_path

        manifest = json.loads(manifest_path(self.database).read_text())
        changed = {pair["run2"] for pair in manifest["pairs"]
                   if pair["changes"] and pair["run1"] >= self.poller_start_run}
        return [run for run in runs if run in changed]

    def entries(self):
        from runinfodiffer.changelog import read_entries

        return read_entries(self.change_log)

    def _wait(self, condition, what: str, log: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}: {tail(log)}")
            time.sleep(0.05)

    def __exit__(self, *exc_info: object) -> None:
        for name in ("bot", "poller"):
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.tunnel.__exit__(None, None, None)
        self.slack.__exit__(None, None, None)
        if self.apache is not None:
            self.apache.stop()
        shutil.rmtree(self.site.folder, ignore_errors=True)
