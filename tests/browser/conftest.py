"""Fixtures for the browser tests: Debian's Chromium driven by Playwright's sync API
against pytest-django's live server.

Playwright's sync API keeps an asyncio loop on the main thread, which makes Django
refuse ORM calls from the test body unless DJANGO_ALLOW_ASYNC_UNSAFE is set; it is set
here, before Django or Playwright is used. Never run `playwright install`: the
browser is /usr/bin/chromium from apt.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)

from tests.browser.helpers import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """On SQLite, a test database in a file rather than in memory.

    The live server answers each request on its own thread. An in-memory test database
    is one connection shared by all of them, so two requests at once (a double click)
    fail with "database table is locked"; a file gives each thread its own connection
    and the same locking as `make run`. PostgreSQL needs no change.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = tmp_path_factory.mktemp("browser-db") / "test_openiop.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class PageProblems:
    """Things that break a page without failing an assertion: script errors and
    assets (CSS, JS) that did not load, for example because of the CSP."""

    items: list[str] = field(default_factory=list)

    def on_response(self, response: Response) -> None:
        if "/static/" in response.url and response.status >= 400:
            self.items.append(f"{response.status} for {response.url}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.items.append(f"CSP: {message.text}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    failure_shot = ARTIFACTS / f"FAILED-{request.node.name}.png"
    failure_shot.unlink(missing_ok=True)  # from an earlier run
    page = context.new_page()
    problems = PageProblems()
    page.on("response", problems.on_response)
    page.on("console", problems.on_console)
    page.on("pageerror", lambda error: problems.items.append(f"script error: {error}"))
    yield page
    call_report = getattr(request.node, "report_call", None)
    if call_report is not None and call_report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=failure_shot, full_page=True)
    page.close()
    assert not problems.items, f"page problems: {problems.items}"


@pytest.fixture
def shot(page: Page) -> Callable[[str], Path]:
    """Saves a full-page screenshot into test-artifacts/ (gitignored) for people to look at."""

    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take
