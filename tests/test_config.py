"""Settings file, database URLs and the password file."""

import logging
import os

import pytest

from runinfodiffer.config import CHECKOUT, Config, config_from_dict, load_config, parse_database_url
from runinfodiffer.errors import ConfigError


def test_defaults_without_file(monkeypatch, tmp_path):
    monkeypatch.delenv("RUNINFODIFFER_CONFIG", raising=False)
    monkeypatch.setattr("runinfodiffer.config.CHECKOUT", tmp_path)
    config = load_config()
    assert config.source is None
    assert config.poll_interval == 30.0
    assert config.global_marker == "/hcalpro/Global/"
    assert config.schema == "CMS_RUNINFO"


def test_file_from_environment_and_relative_paths(monkeypatch, tmp_path):
    path = tmp_path / "conf" / "runinfodiffer.toml"
    path.parent.mkdir()
    path.write_text('database = "sqlite:///data/runinfo.sqlite"\nstate = "state.json"\npoll_interval = 5\n')
    monkeypatch.setenv("RUNINFODIFFER_CONFIG", str(path))
    config = load_config()
    assert config.database_url.path == path.parent / "data" / "runinfo.sqlite"
    assert config.state == path.parent / "state.json"
    assert config.poll_interval == 5.0


def test_explicit_file_missing():
    with pytest.raises(ConfigError, match="config file not found: /nonexistent.toml"):
        load_config("/nonexistent.toml")


def test_unknown_key_and_bad_type(tmp_path):
    with pytest.raises(ConfigError, match="unknown key.*databse"):
        config_from_dict({"databse": "x"}, source=tmp_path / "c.toml")
    with pytest.raises(ConfigError, match="poll_interval must be of type float"):
        config_from_dict({"poll_interval": "30"}, source=tmp_path / "c.toml")


def test_invalid_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("database = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(str(path))


@pytest.mark.parametrize(
    "url, expected",
    [
        ("sqlite:///var/x.sqlite", ("sqlite", "/base/var/x.sqlite")),
        ("sqlite:////abs/x.sqlite", ("sqlite", "/abs/x.sqlite")),
        ("plain/file.sqlite", ("sqlite", "/base/plain/file.sqlite")),
    ],
)
def test_sqlite_urls(url, expected, tmp_path):
    from pathlib import Path

    parsed = parse_database_url(url, Path("/base"))
    assert (parsed.kind, str(parsed.path)) == expected


def test_oracle_url():
    from pathlib import Path

    parsed = parse_database_url("oracle://cms_hcl_runinfo_r@cmsonr-s:10121/cms_rcms.cern.ch", Path("."))
    assert parsed.kind == "oracle"
    assert parsed.user == "cms_hcl_runinfo_r"
    assert parsed.host == "cmsonr-s"
    assert parsed.port == 10121
    assert parsed.service == "cms_rcms.cern.ch"
    assert str(parsed) == "oracle://cms_hcl_runinfo_r@cmsonr-s:10121/cms_rcms.cern.ch"


@pytest.mark.parametrize(
    "url, message",
    [
        ("oracle://user:secret@host:1521/svc", "must not contain a password"),
        ("oracle://host:1521/svc", "expected oracle://USER@HOST:PORT/SERVICE"),
        ("postgres://u@h/db", "unsupported database URL postgres://"),
        ("sqlite:///", "names no file"),
    ],
)
def test_bad_urls(url, message):
    from pathlib import Path

    with pytest.raises(ConfigError, match=message) as error:
        parse_database_url(url, Path("."))
    assert "secret" not in str(error.value)


def test_password_file_first_line_and_warning(tmp_path, caplog):
    path = tmp_path / "database_pwd.txt"
    path.write_text("s3cret\nsecond line\n")
    os.chmod(path, 0o644)
    config = Config(password_file=path)
    with caplog.at_level(logging.WARNING):
        assert config.read_password() == "s3cret"
    assert "readable by group or others" in caplog.text
    assert "s3cret" not in caplog.text

    caplog.clear()
    os.chmod(path, 0o600)
    with caplog.at_level(logging.WARNING):
        config.read_password()
    assert caplog.text == ""


def test_password_file_empty_or_missing(tmp_path):
    path = tmp_path / "pwd"
    path.write_text("\n")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError, match="is empty"):
        Config(password_file=path).read_password()
    with pytest.raises(ConfigError, match="cannot read password file"):
        Config(password_file=tmp_path / "absent").read_password()


def test_checkout_holds_entry_scripts():
    assert (CHECKOUT / "cgi-bin" / "Run_Info_Diff.py").is_file()
