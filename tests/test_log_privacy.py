"""No log level logs what people wrote or sent: at ``MADOGUCHI_LOG_LEVEL=debug`` a login, a chat,
a code word, a note, a survey comment, history calls and query strings leave none of their text,
the password, the visitor's token or the session in the server's log."""

from __future__ import annotations

import uuid
from logging import ERROR, INFO, LogRecord

import httpx

from service.logs import PrivateRepeats
from tests.support import Clients, client_id, login, running_server

PASSWORD = f"pw-{uuid.uuid4().hex}-合言葉"


def marker(what: str) -> str:
    return f"{what}{uuid.uuid4().hex[:10]}"


async def test_a_debug_log_holds_no_text_password_token_or_query() -> None:
    words = {
        k: marker(k)
        for k in ("visitor", "polling", "reply", "note", "word", "survey", "summary", "query")
    }
    with running_server({"MADOGUCHI_LOG_LEVEL": "debug"}) as server:
        server.add_user("hana", PASSWORD, role="supervisor")
        clients = Clients(server)
        try:
            cookie = await login(server, "hana", PASSWORD)
            hana = await clients.counselor(cookie)
            secrets = [PASSWORD, cookie]
            for transport, body in (("websocket", "visitor"), ("polling", "polling")):
                guest = await clients.visitor(transport, partner="demo")
                started = await guest.call("start", {})
                cid, token = started["conversation"]["id"], started["conversation"]["token"]
                secrets.append(token)
                assert (await hana.call("claim", {"conversation_id": cid}))["ok"]
                say = {"client_id": client_id(), "body": words[body]}
                assert (await guest.call("message", say))["ok"]
                assert (await guest.call("history", {"after_seq": 0}))["ok"]
            # The token goes back in a reconnect's handshake, over polling here.
            again = await clients.visitor("polling", partner="demo", token=token)
            assert (await again.call("history", {"after_seq": 0}))["ok"]
            assert (await guest.call("code_word", {"word": words["word"]}))["ok"]
            reply = {"conversation_id": cid, "client_id": client_id(), "body": words["reply"]}
            assert (await hana.call("message", reply))["ok"]
            assert (await hana.call("note", {"conversation_id": cid, "body": words["note"]}))["ok"]
            summary = {"conversation_id": cid, "summary": words["summary"]}
            assert (await hana.call("summary", summary))["ok"]
            assert (await hana.call("history", {"conversation_id": cid}))["ok"]
            # A message refused for its shape must not be logged with its text either.
            refused = await guest.call("message", {"client_id": 7, "body": words["visitor"]})
            assert refused["ok"] is False
            assert (await guest.call("leave", {}))["ok"]
            survey = {"rating": 4, "comment": words["survey"]}
            assert (await guest.call("survey", survey))["ok"]
        finally:
            await clients.close()

        query = words["query"]
        with httpx.Client(base_url=server.url, cookies={"mg_session": cookie}) as http:
            closed = http.get("/inbox/closed", params={"code_word": words["word"], "q": query})
            assert closed.status_code == 200
            for path in ("/chat", "/healthz", "/api/v1/desks", "/no/such/page", "/inbox/login"):
                http.get(path, params={"partner": "demo", "secret": query})
        server.stop()  # everything flushed

        log = server.logs()
        assert "Madoguchi on" in log  # the log was written, at debug
        for secret in [*words.values(), *secrets]:
            assert secret not in log, f"{secret!r} is in the log:\n{log}"


def record(name: str, level: int, msg: str, args: tuple[object, ...], at: float) -> LogRecord:
    made = LogRecord(name, level, __file__, 1, msg, args, None)
    made.created = at
    return made


def test_repeats_are_written_once_a_minute_with_the_count_held_back() -> None:
    private = PrivateRepeats()
    written = [
        private.filter(record("service.db.batching", ERROR, "writes cannot commit: %s", ("x",), t))
        for t in range(0, 600, 2)  # every 2 s for 10 minutes: a health check's pace
    ]
    assert sum(written) == 10
    late = record("service.db.batching", ERROR, "writes cannot commit: %s", ("x",), 600.0)
    assert private.filter(late)
    assert late.getMessage() == "writes cannot commit: x (29 more like this held back)"
    # Another kind, and anything below WARNING, is not held back by the first.
    assert private.filter(record("service.x", ERROR, "another failure", (), 601.0))
    assert all(private.filter(record("service.x", INFO, "fine", (), 602.0)) for _ in range(5))


def test_a_request_line_keeps_neither_its_query_nor_the_address() -> None:
    line = record(
        "uvicorn.access",
        INFO,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.7:5123", "GET", "/inbox/closed?code_word=さくら", "1.1", 200),
        0.0,
    )
    assert PrivateRepeats().filter(line)
    assert line.getMessage() == '- - "GET /inbox/closed HTTP/1.1" 200'
