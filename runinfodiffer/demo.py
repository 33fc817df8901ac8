"""`make demo`: build the sample RunInfo database and a config, then show a diff."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .cli import main as cli_main
from .config import CHECKOUT, CONFIG_NAME

VAR = CHECKOUT / "var"
SAMPLE_DB = VAR / "sample.sqlite"

DEMO_CONFIG = """\
# Written by `make demo`: settings for the embedded sample RunInfo database.
database = "sqlite:///var/sample.sqlite"
change_log = "var/BotUrlLog.html"
state = "var/poller-state.json"
web_base_url = "http://127.0.0.1:8000/cgi-bin/viewDiffer.py"
"""


def write_demo_config(path: Path) -> bool:
    """Write the demo config unless a config exists there; return whether it wrote one."""
    if path.exists():
        return False
    path.write_text(DEMO_CONFIG, encoding="utf-8")
    return True


def main() -> int:
    from .sample import build_sample

    VAR.mkdir(exist_ok=True)
    manifest = build_sample(SAMPLE_DB)
    print(f"Sample RunInfo database: {SAMPLE_DB} ({len(manifest['runs'])} runs)")
    config_path = CHECKOUT / CONFIG_NAME
    if write_demo_config(config_path):
        print(f"Wrote {config_path}")
    else:
        print(f"Using the existing {config_path}")

    pair = manifest["demo_pair"]
    command = f"cgi-bin/Run_Info_Diff.py remote_run {pair['run1']} {pair['run2']}"
    print(f"\n$ python {command}\n")
    sys.stdout.flush()
    status = cli_main(["diff", str(pair["run1"]), str(pair["run2"]), "--config", str(config_path)])
    print(f"\n(exit status {status}: 0 no differences, 1 differences, 2 trouble)")
    print("JSON form: add --format=json. Manifest of injected changes:",
          json.dumps({k: manifest[k] for k in ("demo_pair", "largest_pair")}))
    return 0 if status in (0, 1) else status


if __name__ == "__main__":
    sys.exit(main())
