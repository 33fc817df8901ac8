"""Import boundaries: the bot loads no database or diff code, the diff CLI no Slack or HTTP code."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.servers.bot_site import CHECKOUT, Site, bot_env, run_of, write_bot_config
from tests.servers.slack_endpoint import SlackEndpoint
from tests.servers.static_web import StaticWebServer

#: Modules the bot host must not need: it has no database client and no diff engine.
BOT_FORBIDDEN = ("runinfodiffer.db", "runinfodiffer.runinfo", "runinfodiffer.engine", "runinfodiffer.compare",
                 "runinfodiffer.render", "runinfodiffer.web", "runinfodiffer.catalog", "runinfodiffer.sample",
                 "runinfodiffer.blocks", "runinfodiffer.words", "pygit2", "oracledb", "sqlite3", "jinja2")
CLI_FORBIDDEN = ("slack_sdk", "requests", "socks", "urllib3", "runinfodiffer.notify")


def loaded_modules(code: str, env=None) -> dict:
    """Run `code` in a fresh interpreter; it must print a JSON object with "modules" last."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=env or bot_env(), cwd=str(CHECKOUT), timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bot_cycle_imports_no_database_or_diff_code(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    with StaticWebServer(root) as web, SlackEndpoint() as slack:
        site = Site(root, web.url())
        site.add(1)
        config = write_bot_config(tmp_path, change_log_url=web.url("BotUrlLog.html"), proxy="",
                                  state=str(tmp_path / "state.json"))
        result = loaded_modules(f"""
            import json, sys
            from runinfodiffer.notify.bot import main
            status = main(["--config", {str(config)!r}, "--once", "--replay", "1"])
            print(json.dumps({{"status": status, "modules": sorted(sys.modules)}}))
        """, env=bot_env(slack.webhook_url))
        delivered = slack.delivered()

    assert result["status"] == 0
    assert [r.payload["text"].split("*")[1] for r in delivered] == [f"Run {run_of(1)}"]
    modules = set(result["modules"])
    assert "slack_sdk.webhook" in modules
    assert "runinfodiffer.changelog" in modules
    for name in BOT_FORBIDDEN:
        assert name not in modules, f"the bot imported {name}"


def test_diff_cli_imports_no_slack_or_http(sample_db):
    path, manifest = sample_db
    pair = manifest["demo_pair"]
    result = loaded_modules(f"""
        import contextlib, io, json, sys
        from runinfodiffer.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as output:
            status = main(["diff", "{pair['run1']}", "{pair['run2']}", "--database", "sqlite:///{path}"])
        print(json.dumps({{"status": status, "output": output.getvalue()[:200], "modules": sorted(sys.modules)}}))
    """)

    assert result["status"] == 1
    assert result["output"].startswith(f"Run {pair['run1']} -> {pair['run2']}: ")
    modules = set(result["modules"])
    assert "runinfodiffer.compare" in modules
    for name in CLI_FORBIDDEN:
        assert name not in modules, f"the diff CLI imported {name}"
