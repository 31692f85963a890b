"""A headless Debian chromium driven by playwright, for the dashboard tests.

Launched exactly as ``shared/reference/recipes.md`` says (never
``playwright install``).  Screenshots go to ``artifacts/`` (gitignored).
"""
from __future__ import annotations

import os
import pathlib

import pytest

from tests.conftest import require

ARTIFACTS = pathlib.Path(__file__).resolve().parents[3] / "artifacts"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture
def browser():
    """One chromium per test: the browser and its helper processes end with the test
    (the distributed tests check that no process outlives its test)."""
    path = require("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        exe = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else path
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        ctx.close()


def screenshot(page, name: str) -> pathlib.Path:
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    return out
