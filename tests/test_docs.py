"""The docs name every setting the code reads."""

from dataclasses import fields

from runinfodiffer.config import CHECKOUT, Config
from runinfodiffer.notify.settings import BotSettings


def test_readme_lists_every_setting():
    readme = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    for field in fields(Config):
        if field.name in ("source", "base", "bot"):
            continue
        assert f"| `{field.name}` |" in readme, field.name
    assert "`[bot]` table" in readme


def test_bot_docs_list_every_bot_setting():
    text = (CHECKOUT / "docs" / "bot.md").read_text(encoding="utf-8")
    for field in fields(BotSettings):
        assert f"`{field.name}`" in text, field.name


def test_readme_links_existing_docs():
    readme = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    for name in ("operations.md", "web.md", "bot.md", "cli.md", "benchmarks.md"):
        assert f"(docs/{name})" in readme
        assert (CHECKOUT / "docs" / name).is_file()


def test_bot_install_uses_package_extra():
    # The bot reads runinfodiffer.toml, which needs tomli on Python < 3.11; only
    # installing the package with its extra brings it in where needed.
    text = (CHECKOUT / "docs" / "bot.md").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install '.[bot]'" in text
    assert "pip install --user" not in text
    assert "nohup .venv/bin/python -u bot/DifferBot.py" in text


def test_bot_extra_pulls_tomli_on_old_python():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib

    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "tomli>=1.1; python_version < '3.11'" in project["dependencies"]
    assert "slack_sdk>=3.20" in project["optional-dependencies"]["bot"]
