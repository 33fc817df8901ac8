"""Fixtures for the end-to-end tests: the web interface under a real Apache with mod_cgid."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from runinfodiffer.config import CHECKOUT
from tests.conftest import REQUIRE_E2E, require_binary
from tests.servers.apache import APACHE, SYSTEM_PYTHON, cgi_venv, prepare_site, start_apache


@pytest.fixture(scope="session")
def apache_site(sample_db):
    """Apache on 127.0.0.1 serving a copy of the checkout: html/ and cgi-bin/ as on hcalmon.

    Yields (apache, site, manifest). The CGI script runs as www-data from a venv of
    /usr/bin/python3 that has the web interface's requirements.
    """
    require_binary(APACHE)
    require_binary(SYSTEM_PYTHON)
    database, manifest = sample_db
    try:
        python = cgi_venv()
    except subprocess.CalledProcessError as error:
        message = f"cannot build the CGI venv (pip needs the package registry): {error}"
        if REQUIRE_E2E:
            pytest.fail(message)
        pytest.skip(message)
    site = prepare_site(CHECKOUT, database, python)
    server_folder = site.folder / "apache"
    server_folder.mkdir(mode=0o755)
    apache = start_apache(server_folder, site.checkout, env=site.cgi_env)
    try:
        yield apache, site, manifest
    finally:
        apache.stop()
        shutil.rmtree(site.folder, ignore_errors=True)


#: Chromium flags for a closed network: no background traffic, no name lookups but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Chromium through Playwright, with its profile folders in a temp folder."""
    executable = require_binary("/usr/bin/chromium", "/usr/lib/chromium/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRE_E2E:
            pytest.fail("playwright is not installed, and RUNINFODIFFER_REQUIRE_E2E=1 forbids skipping")
        pytest.skip("playwright is not installed")

    home = tmp_path_factory.mktemp("chromium-home")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            env={"HOME": str(home), "TMPDIR": str(home), "PATH": "/usr/bin:/bin"},
        )
        try:
            yield chromium
        finally:
            chromium.close()
