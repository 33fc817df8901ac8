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
