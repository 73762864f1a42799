"""A partner's origins decide who may frame its chat, checked by a real Chromium."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from tests.conftest import PASSWORD
from tests.support import Server, free_port, running_server
from tests.test_admin import browser as staff_browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def partner_site() -> Iterator[str]:
    """A second origin on this machine, serving pages that frame the chat."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), PartnerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class PartnerPage(http.server.BaseHTTPRequestHandler):
    """``/?src=URL`` answers a page whose only content is an iframe of URL."""

    def do_GET(self) -> None:
        src = self.path.partition("src=")[2]
        body = f'<!doctype html><iframe id="chat" src="{src}"></iframe>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(partner_site: str) -> Iterator[Server]:
    with running_server() as srv:
        srv.add_user("aiko", PASSWORD, role="admin")
        with staff_browser(srv, "aiko") as http_:
            for key, origins in [("friend", [partner_site]), ("stranger", ["https://other.jp"])]:
                made = http_.post(
                    "/api/v1/admin/partners", json={"key": key, "name": key, "origins": origins}
                )
                assert made.status_code == 201
        yield srv


@pytest.mark.parametrize(("partner", "loads"), [("friend", True), ("stranger", False)])
def test_the_chat_frames_only_in_an_allowed_origin(
    browser: Browser, server: Server, partner_site: str, partner: str, loads: bool
) -> None:
    chat_url = f"{server.url}/chat?partner={partner}"
    assert httpx.get(chat_url).status_code == 200  # the page itself is there either way
    context = browser.new_context()
    try:
        page = context.new_page()
        with page.expect_response(lambda r: r.url == chat_url):
            page.goto(f"{partner_site}/?src={chat_url}")
        frame = page.frame_locator("#chat")
        page.wait_for_load_state("load")  # the page's load waits for its iframe too
        if loads:
            frame.locator("#mg-app").wait_for(state="attached")
        else:  # Chromium shows its own error page instead (frame-ancestors)
            assert frame.locator("#mg-app").count() == 0
    finally:
        context.close()
