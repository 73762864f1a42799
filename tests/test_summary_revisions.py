"""The pure rules behind the inbox's thread and summary: a summary save is refused unless it was
written on the stored revision, every save gets a revision of its own even within one
millisecond, and a message names its writer to staff only."""

from __future__ import annotations

import pytest

from service.domain.casework import check_summary_base, next_summary_at
from service.domain.conversations import Message
from service.errors import AppError, ErrorCode
from service.wire import message_payload

AT = "2026-04-01T03:12:09.412Z"


def test_a_save_on_the_stored_revision_or_of_the_same_text_passes() -> None:
    check_summary_base(None, None, same_text=False)
    check_summary_base(AT, AT, same_text=False)
    check_summary_base(AT, None, same_text=True)


@pytest.mark.parametrize("base", [None, "2026-04-01T03:12:09.411Z"])
def test_a_save_on_another_revision_is_a_conflict(base: str | None) -> None:
    with pytest.raises(AppError) as refused:
        check_summary_base(AT, base, same_text=False)
    assert refused.value.code == ErrorCode.SUMMARY_CONFLICT


@pytest.mark.parametrize(
    ("stored", "now", "revision"),
    [
        (None, AT, AT),
        ("2026-04-01T03:12:08.000Z", AT, AT),
        (AT, AT, "2026-04-01T03:12:09.413Z"),  # two saves in one millisecond
        (AT, "2026-04-01T03:00:00.000Z", "2026-04-01T03:12:09.413Z"),  # a clock stepped back
    ],
)
def test_every_save_gets_a_later_revision(stored: str | None, now: str, revision: str) -> None:
    assert next_summary_at(stored, now) == revision


def test_the_writer_of_a_counselor_message_is_for_staff_only() -> None:
    line = Message("c1", 3, "counselor", "はい", AT, "k-1", 7, "花子")
    staff = message_payload(line, with_client_id=True, for_staff=True)
    assert (staff["user_id"], staff["writer"]) == (7, "花子")
    visitor = message_payload(line, with_client_id=False)
    assert not {"user_id", "writer", "client_id"} & set(visitor)
    theirs = Message("c1", 4, "visitor", "相談です", AT, "v-1")
    assert "writer" not in message_payload(theirs, with_client_id=False, for_staff=True)
