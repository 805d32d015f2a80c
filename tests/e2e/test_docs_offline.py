"""/docs and /redoc render in a real browser with no way out to the internet.

Headless Chromium (Debian's, driven by Playwright) loads the pages from a live test server while
every request to any other host is aborted; the pages must render every operation of the
OpenAPI document: their assets come from Mira itself, not from a CDN.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager

import pytest

playwright = pytest.importorskip("playwright.sync_api")


def _chromium() -> str:
    import os

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") or os.environ.get("MIRA_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    return path


@contextmanager
def offline_page(base: str):
    """A page that may reach the test server and nothing else; yields (page, blocked, errors),
    blocked holding (resource type, url) of each request refused."""
    blocked: list[str] = []
    errors: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page()

            def only_local(route):
                if route.request.url.startswith(base + "/"):
                    route.continue_()
                else:
                    blocked.append((route.request.resource_type, route.request.url))
                    route.abort()

            page.route("**/*", only_local)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, blocked, errors
        finally:
            browser.close()


@pytest.fixture
def base(live):
    return live.replace("ws://", "http://")


def _operations(client) -> int:
    spec = client.get("/openapi.json").json
    return sum(
        1
        for item in spec["paths"].values()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def test_swagger_ui_renders_every_operation_offline(base, client):
    expected = _operations(client)
    with offline_page(base) as (page, blocked, errors):
        page.goto(f"{base}/docs")
        page.wait_for_function(
            f"document.querySelectorAll('.opblock').length >= {expected}", timeout=30_000
        )
        assert page.locator(".opblock").count() == expected
        assert page.get_by_text("Create an account and its personal network.").count() >= 1
        assert errors == [] and blocked == []


def test_redoc_renders_the_operations_offline(base, client):
    with offline_page(base) as (page, blocked, errors):
        page.goto(f"{base}/redoc")
        page.get_by_text("Create an account and its personal network.").first.wait_for(
            state="attached", timeout=30_000
        )
        sections = page.locator("[data-section-id*='/paths/']")
        assert sections.count() == _operations(client)
        # ReDoc's footer asks for its logo on redoc.ly: a picture, nothing the page needs.
        assert errors == [] and all(kind == "image" for kind, _url in blocked)


def test_assets_are_served_with_a_cache_lifetime(client):
    response = client.get("/docs-assets/swagger-ui/swagger-ui-bundle.js")
    assert response.status_code == 200 and len(response.data) > 500_000
    assert "max-age=604800" in response.headers["Cache-Control"]
    assert client.get("/docs-assets/redoc/redoc.standalone.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui/../../../etc/passwd").status_code == 404
    assert client.get("/docs-assets/nothing/x.js").status_code == 404
