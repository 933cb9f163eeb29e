"""Browser tests: Playwright for Python driving Debian's chromium against the real app, served
on a real port (Playwright's async API).

One chromium serves all of a test process's browser tests, each in a context of its own:
starting Playwright's driver and chromium cost ~0.7 s of CPU a test. So the browser tests, and
the async fixtures they use that hold loop-bound things (servers, pages), run in the process's
one event loop (a module's `pytestmark = IN_THE_BROWSERS_LOOP`, `@browser_fixture`), not in one
of their own."""

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from botstore.app import create_app
from botstore.clock import FrozenClock
from botstore.config import Config
from handlers import ROUTERS
from tests.helpers import probe

NO_BROWSER = (
    "browser tests need Debian's chromium and Playwright for Python: "
    "apt-get install -y chromium and pip install playwright (.venv/bin/pip install -e '.[dev]'); "
    "never `playwright install`"
)


IN_THE_BROWSERS_LOOP = pytest.mark.asyncio(loop_scope="session")
# For a browser test's async fixtures: run in the tests' loop, set up and torn down per test.
browser_fixture = pytest_asyncio.fixture(loop_scope="session")


def _missing() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if shutil.which("chromium") is None:
        return "chromium is not on PATH"
    return None


@pytest.fixture
def app(config: Config, clock: FrozenClock) -> web.Application:
    # The probe commands (echo, kind) give every reply type on demand.
    return create_app(config, clock=clock, routers=[probe, *ROUTERS])


@browser_fixture
async def server(app: web.Application) -> AsyncIterator[TestServer]:
    """The app on a real port of 127.0.0.1."""
    async with TestServer(app, host="127.0.0.1") as started:
        yield started


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests ({missing}): {NO_BROWSER}")
        pytest.skip(f"{missing}: {NO_BROWSER}")
    from playwright.async_api import async_playwright, expect

    # Generous: two cores are shared by the whole suite. Nothing sleeps; expect() polls.
    expect.set_options(timeout=30_000)

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=shutil.which("chromium"))
        try:
            yield chromium
        finally:
            await chromium.close()


@browser_fixture
async def page(browser: Any, server: TestServer) -> AsyncIterator[Any]:
    """The console, loaded; fails the test on any script error or CSP violation."""
    context = await browser.new_context(
        base_url=str(server.make_url("")), viewport={"width": 1500, "height": 900}
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

    def on_console(message: Any) -> None:
        # News covers point at made-up hosts; a failed image load is not the page's fault.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.set_default_timeout(30_000)
    await page.goto("/console")
    await page.locator("body[data-ready=true]").wait_for()
    yield page
    await context.close()
    assert errors == []


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: $BOTSTORE_TEST_ARTIFACTS (CI keeps it), else the test's tmp dir."""
    directory = Path(os.environ.get("BOTSTORE_TEST_ARTIFACTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory
