"""Headless Chromium for the browser tests: Debian's `chromium` package, driven by Playwright.

Playwright's own browser download is never used (`playwright install` fetches a build from outside
the package registries). Where /usr/bin/chromium is missing the suite installs Debian's package
itself when it can (root with apt-get); with CI=true a browser that cannot be had fails the tests,
elsewhere they skip.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator

import pytest

CHROMIUM = "/usr/bin/chromium"


def _install_chromium() -> str | None:
    """Install Debian's chromium; None when done, else why not.

    Every xdist worker asks at once, and apt-get refuses a second caller while the first holds
    dpkg's lock: the workers (and any other run on the machine) take turns on a lock file, and
    whoever comes second finds the browser there."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "no apt-get, or not root"
    with open(os.path.join(tempfile.gettempdir(), "paygate-tests-chromium.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(CHROMIUM):
            return None
        return _apt_get_chromium()


def _apt_get_chromium() -> str | None:
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    # Waits for dpkg's lock when something else on the machine holds it, rather than failing.
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return f"apt-get install chromium failed: {done.stderr[-500:]}"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    from tests.conftest import IN_CI

    problem = None
    if not os.path.exists(CHROMIUM):
        problem = _install_chromium() if IN_CI else "not installed (CI=true installs it)"
    if not os.path.exists(CHROMIUM):
        message = f"Chromium is missing at {CHROMIUM}: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the browser tests must run)")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path) -> AsyncIterator[object]:
    """One browser for the whole session; each test opens its own context (its own sessionStorage)."""
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    launched = await playwright.chromium.launch(executable_path=chromium_path)
    yield launched
    await launched.close()
    await playwright.stop()
