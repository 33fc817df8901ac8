"""docs/cli.md must match the argparse definitions."""

import sys

import pytest

from runinfodiffer.clidoc import render_cli_reference
from runinfodiffer.config import CHECKOUT


@pytest.mark.skipif(sys.version_info >= (3, 13) or sys.version_info < (3, 10),
                    reason="argparse formats option help differently on Python 3.9 and 3.13+")
def test_cli_reference_up_to_date():
    documented = (CHECKOUT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert documented == render_cli_reference(), "run 'make docs' to regenerate docs/cli.md"


def test_every_command_documented():
    text = render_cli_reference()
    for command in ("diff", "check-db", "sample-db", "history"):
        assert f"## runinfodiffer {command}\n" in text
