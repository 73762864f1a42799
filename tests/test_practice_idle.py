"""A scripted practice chat that its trainee leaves open does not stay open forever: when nothing
has been written in it for the visitor-gone time (``MADOGUCHI_VISITOR_GONE_MINUTES``, 3 s here)
the service closes it as "no reply", whether the script was still going or had ended, and the
practice retention then erases it as any closed practice chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.clock import iso
from service.domain.training import SCRIPT_ENDED
from tests.conftest import PASSWORD
from tests.support import (
    EVENT_TIMEOUT,
    Clients,
    Server,
    client_id,
    execute,
    login_sync,
    running_server,
)
from tests.test_training import DRILL, madoguchi, scenarios, scripted_chat

GONE_SECONDS = 3
"""The visitor-gone time of this module's server: 0.05 minutes."""


@pytest.fixture(scope="module")
def centre() -> Iterator[Server]:
    with running_server({"MADOGUCHI_VISITOR_GONE_MINUTES": "0.05"}) as server:
        madoguchi(
            server, "desk", "add", DRILL, "--name", "練習窓口", "--hours", "24/7", "--practice"
        )
        server.add_user("hana", PASSWORD, role="counselor", display_name="花子")
        yield server


@pytest.fixture
async def clients(centre: Server) -> AsyncIterator[Clients]:
    connected = Clients(centre)
    yield connected
    await connected.close()


async def started(centre: Server, session: str, scenario_id: int) -> str:
    """A scripted practice chat hana starts; its id."""
    location: str = (await scripted_chat(centre, session, scenario_id)).headers["location"]
    return location.split("#", 1)[1]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_a_silent_scripted_chat_closes_as_no_reply_and_goes_with_practice_retention(
    centre: Server, clients: Clients
) -> None:
    session = login_sync(centre, "hana", PASSWORD)
    hana = await clients.counselor(session)
    await hana.wait_for("queue")
    scenario_id, _, lines = scenarios(centre)[2]

    def said(cid: str, author: str, body: str) -> Callable[[dict[str, Any]], bool]:
        return lambda m: (m["conversation_id"], m["author"], m["body"]) == (cid, author, body)

    # One chat answered to the end of its script, one left after its first line; hana stays
    # connected to the inbox all along.
    ended, left = [await started(centre, session, scenario_id) for _ in range(2)]
    for line in lines:
        await hana.wait_for("message", said(ended, "visitor", line))
        reply = {"conversation_id": ended, "client_id": client_id(), "body": "お話しください"}
        assert (await hana.call("message", reply))["ok"]
    await hana.wait_for("message", said(ended, "system", SCRIPT_ENDED))
    await hana.wait_for("message", said(left, "visitor", lines[0]))

    for cid in (ended, left):
        status = await hana.wait_for(
            "status",
            lambda s, cid=cid: s.get("conversation_id") == cid and s["status"] == "closed",
            timeout=EVENT_TIMEOUT + GONE_SECONDS,
        )
        assert status["outcome"] == "no_reply"
        [(outcome, closed_by, closed_at, last_written)] = centre.query(
            "SELECT outcome, closed_by, closed_at, (SELECT max(created_at) FROM message "
            "WHERE conversation_id = c.id AND author != 'system') FROM conversation AS c "
            "WHERE id = ?",
            (cid,),
        )
        assert (outcome, closed_by) == ("no_reply", "system")
        # Timed from the last word written, not from the start of the chat.
        assert moment(closed_at) - moment(last_written) >= timedelta(seconds=GONE_SECONDS)

    # Closed eight days ago: past the practice retention (7 days).
    eight_days_ago = iso(datetime.now(UTC) - timedelta(days=8))
    for cid in (ended, left):
        execute(centre, "UPDATE conversation SET closed_at = ? WHERE id = ?", (eight_days_ago, cid))
    madoguchi(centre, "purge")
    for cid in (ended, left):
        assert centre.query(
            "SELECT count(*) FROM practice_session WHERE conversation_id = ?", (cid,)
        ) == [(0,)]
        bodies = centre.query(
            "SELECT opened(body) FROM message WHERE conversation_id = ? AND author != 'system'",
            (cid,),
        )
        assert bodies and all(body == b"" for (body,) in bodies)
