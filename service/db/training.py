"""The SQL of counselor training: scenarios, the rubric, practice sessions, the scripted
visitor's turns and reviews (``service/domain/training.py`` says what they are).

Writes run through the store's group-commit writer and check the conversation's state inside
their own transaction: a script's turn cannot pass a close, a review cannot come before one.
Every row of a practice chat's training goes with its conversation (``ON DELETE CASCADE``) and
with its erasure (:func:`erase_training`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from service.clock import now_iso
from service.db.audit_log import audit
from service.db.conversations import list_messages
from service.db.rows import append_message, append_system_message
from service.domain.audit import Actor
from service.domain.conversations import Message
from service.domain.training import (
    SCRIPT_ENDED,
    Mark,
    Mode,
    Review,
    ReviewInput,
    RubricItem,
    Scenario,
    Score,
    ScriptStep,
    Session,
    script_turn,
)
from service.errors import AppError, ErrorCode

T = TypeVar("T")


class TrainingQueries:
    """Mixed into :class:`service.db.store.SqliteStore`, which provides ``_read`` and ``_write``."""

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def list_scenarios(self) -> list[Scenario]:
        return await self._read(_list_scenarios)

    async def insert_scenario(self, actor: Actor, fields: Mapping[str, Any]) -> Scenario:
        return await self._write(_insert_scenario, actor, dict(fields))

    async def update_scenario(
        self, actor: Actor, scenario_id: int, fields: Mapping[str, Any]
    ) -> Scenario:
        return await self._write(_update_scenario, actor, scenario_id, dict(fields))

    async def list_rubric(self) -> list[RubricItem]:
        return await self._read(_list_rubric)

    async def insert_rubric_item(self, actor: Actor, fields: Mapping[str, Any]) -> RubricItem:
        return await self._write(_insert_rubric_item, actor, dict(fields))

    async def update_rubric_item(
        self, actor: Actor, item_id: int, fields: Mapping[str, Any]
    ) -> RubricItem:
        return await self._write(_update_rubric_item, actor, item_id, dict(fields))

    async def insert_practice_session(
        self, conversation_id: str, scenario_id: int | None, mode: Mode, player_id: int | None
    ) -> None:
        await self._write(_insert_session, conversation_id, scenario_id, mode, player_id)

    async def choose_scenario(self, user_id: int, desk_id: int, scenario_id: int | None) -> None:
        """Remember the scenario ``user_id`` plays at the practice desk ``desk_id``."""
        await self._write(_choose, user_id, desk_id, scenario_id)

    async def chosen_scenario(self, user_id: int, desk_id: int) -> int | None:
        return await self._read(_chosen, user_id, desk_id)

    async def get_practice_session(self, conversation_id: str) -> Session | None:
        found = await self._read(_list_sessions, "s.conversation_id = ?", (conversation_id,))
        return found[0] if found else None

    async def list_practice_sessions(self, trainee_id: int | None) -> list[Session]:
        """A trainee's practice chats (every one's with None), newest first."""
        if trainee_id is None:
            return await self._read(_list_sessions, "1 = 1", ())
        return await self._read(_list_sessions, "c.counselor_id = ?", (trainee_id,))

    async def scripted_among(self, conversation_ids: Iterable[str]) -> set[str]:
        """Which of these conversations the server plays the visitor of."""
        return await self._read(_scripted_among, list(conversation_ids))

    async def advance_script(self, conversation_id: str) -> ScriptStep | None:
        """The scripted visitor's next turn, if it is due (``domain.training.script_turn``);
        None if nothing was sent."""
        return await self._write(_advance_script, conversation_id)

    async def save_review(
        self, conversation_id: str, reviewer_id: int, review: ReviewInput
    ) -> None:
        """Store (or replace) the review of a closed practice chat; unread again for its
        trainee. NOT_FOUND if it is no practice chat or nobody held it; CONVERSATION_OPEN
        before it is closed."""
        await self._write(_save_review, conversation_id, reviewer_id, review)

    async def get_review(self, conversation_id: str) -> Review | None:
        found = await self._read(_reviews, "r.conversation_id = ?", (conversation_id,))
        return found[0] if found else None

    async def list_reviews(self, trainee_id: int) -> list[Review]:
        return await self._read(_reviews, "r.trainee_id = ?", (trainee_id,))

    async def mark_review_read(self, conversation_id: str, trainee_id: int) -> None:
        await self._write(_mark_read, conversation_id, trainee_id)

    async def count_unread_feedback(self, trainee_id: int) -> int:
        return await self._read(_count_unread, trainee_id)

    async def open_practice_transcript(
        self, actor: Actor, conversation_id: str, purpose: str, limit: int
    ) -> list[Message]:
        """A practice chat's messages (at most ``limit``), read for ``purpose`` (``review`` or
        ``feedback``): the audit row is written in the same transaction as the read, as for a
        real record. NOT_FOUND if it is no practice chat."""
        return await self._write(_open_transcript, actor, conversation_id, purpose, limit)


# -- synchronous SQL ---------------------------------------------------------------------------

_SCENARIO = (
    "SELECT id, title, topic, persona, situation, lines, focus, ends_with_exit, archived "
    "FROM practice_scenario"
)


def _scenario(row: sqlite3.Row) -> Scenario:
    return Scenario(
        row["id"],
        row["title"],
        row["topic"],
        row["persona"],
        row["situation"],
        tuple(json.loads(row["lines"])),
        row["focus"],
        bool(row["ends_with_exit"]),
        bool(row["archived"]),
    )


def _list_scenarios(conn: sqlite3.Connection) -> list[Scenario]:
    return [_scenario(r) for r in conn.execute(_SCENARIO + " ORDER BY archived, id")]


def _get_scenario(conn: sqlite3.Connection, scenario_id: int) -> Scenario:
    row = conn.execute(_SCENARIO + " WHERE id = ?", (scenario_id,)).fetchone()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, "no such scenario")
    return _scenario(row)


# The columns a caller may set: SQL below names only these.
SETTABLE = frozenset(
    {"title", "topic", "persona", "situation", "lines", "focus", "ends_with_exit", "archived"}
    | {"position", "label_ja", "label_en", "hint", "active"}
)


def _columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Scenario or rubric fields as stored: the lines as JSON, flags as 0/1."""
    unknown = set(fields) - SETTABLE
    if unknown:
        raise AppError(ErrorCode.INVALID_PAYLOAD, f"unknown fields: {sorted(unknown)}")
    out = dict(fields)
    if "lines" in out:
        out["lines"] = json.dumps(list(out["lines"]), ensure_ascii=False)
    for flag in ("ends_with_exit", "archived", "active"):
        if flag in out:
            out[flag] = int(bool(out[flag]))
    return out


def _insert_scenario(conn: sqlite3.Connection, actor: Actor, fields: dict[str, Any]) -> Scenario:
    now, cols = now_iso(), _columns(fields)
    names = ", ".join(cols)
    marks = ", ".join("?" for _ in cols)
    scenario_id = conn.execute(
        f"INSERT INTO practice_scenario ({names}, created_at, updated_at) "  # noqa: S608
        f"VALUES ({marks}, ?, ?) RETURNING id",
        (*cols.values(), now, now),
    ).fetchone()[0]
    audit(
        conn,
        actor,
        "training.scenario.create",
        f"scenario:{scenario_id}",
        {"title": fields["title"]},
    )
    return _get_scenario(conn, scenario_id)


def _update_scenario(
    conn: sqlite3.Connection, actor: Actor, scenario_id: int, fields: dict[str, Any]
) -> Scenario:
    cols = _columns(fields)
    sets = ", ".join(f"{name} = ?" for name in cols)
    changed = conn.execute(
        f"UPDATE practice_scenario SET {sets}, updated_at = ? WHERE id = ?",  # noqa: S608
        (*cols.values(), now_iso(), scenario_id),
    ).rowcount
    if changed != 1:
        raise AppError(ErrorCode.NOT_FOUND, "no such scenario")
    audit(
        conn, actor, "training.scenario.update", f"scenario:{scenario_id}", {"fields": sorted(cols)}
    )
    return _get_scenario(conn, scenario_id)


_RUBRIC = "SELECT id, position, label_ja, label_en, hint, active FROM rubric_item"


def _item(row: sqlite3.Row) -> RubricItem:
    return RubricItem(
        row["id"],
        row["position"],
        row["label_ja"],
        row["label_en"],
        row["hint"],
        bool(row["active"]),
    )


def _list_rubric(conn: sqlite3.Connection) -> list[RubricItem]:
    return [_item(r) for r in conn.execute(_RUBRIC + " ORDER BY position, id")]


def _get_item(conn: sqlite3.Connection, item_id: int) -> RubricItem:
    row = conn.execute(_RUBRIC + " WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, "no such rubric item")
    return _item(row)


def _insert_rubric_item(
    conn: sqlite3.Connection, actor: Actor, fields: dict[str, Any]
) -> RubricItem:
    cols = _columns(fields)
    names = ", ".join(cols)
    marks = ", ".join("?" for _ in cols)
    item_id = conn.execute(
        f"INSERT INTO rubric_item ({names}, created_at) VALUES ({marks}, ?) RETURNING id",  # noqa: S608
        (*cols.values(), now_iso()),
    ).fetchone()[0]
    audit(conn, actor, "training.rubric.create", f"rubric:{item_id}", {"label": fields["label_ja"]})
    return _get_item(conn, item_id)


def _update_rubric_item(
    conn: sqlite3.Connection, actor: Actor, item_id: int, fields: dict[str, Any]
) -> RubricItem:
    cols = _columns(fields)
    sets = ", ".join(f"{name} = ?" for name in cols)
    changed = conn.execute(
        f"UPDATE rubric_item SET {sets} WHERE id = ?",  # noqa: S608
        (*cols.values(), item_id),
    ).rowcount
    if changed != 1:
        raise AppError(ErrorCode.NOT_FOUND, "no such rubric item")
    audit(conn, actor, "training.rubric.update", f"rubric:{item_id}", {"fields": sorted(cols)})
    return _get_item(conn, item_id)


def _insert_session(
    conn: sqlite3.Connection,
    conversation_id: str,
    scenario_id: int | None,
    mode: str,
    player_id: int | None,
) -> None:
    try:
        conn.execute(
            "INSERT INTO practice_session (conversation_id, scenario_id, mode, player_id, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            (conversation_id, scenario_id, mode, player_id, now_iso()),
        )
    except sqlite3.IntegrityError:
        raise AppError(ErrorCode.NOT_FOUND, "no such conversation or scenario") from None


def _choose(conn: sqlite3.Connection, user_id: int, desk_id: int, scenario_id: int | None) -> None:
    conn.execute(
        "INSERT INTO practice_choice (user_id, desk_id, scenario_id, chosen_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, desk_id) DO UPDATE "
        "SET scenario_id = excluded.scenario_id, chosen_at = excluded.chosen_at",
        (user_id, desk_id, scenario_id, now_iso()),
    )


def _chosen(conn: sqlite3.Connection, user_id: int, desk_id: int) -> int | None:
    row = conn.execute(
        "SELECT scenario_id FROM practice_choice WHERE user_id = ? AND desk_id = ?",
        (user_id, desk_id),
    ).fetchone()
    return None if row is None else row[0]


_SESSIONS = """
SELECT s.conversation_id, s.mode, s.scenario_id, sc.title AS scenario_title,
       c.counselor_id AS trainee_id, t.display_name AS trainee, p.display_name AS player,
       c.status, s.created_at, c.closed_at, c.desk_id,
       r.conversation_id IS NOT NULL AS reviewed, r.read_at IS NOT NULL AS feedback_read
FROM practice_session AS s
JOIN conversation AS c ON c.id = s.conversation_id
LEFT JOIN practice_scenario AS sc ON sc.id = s.scenario_id
LEFT JOIN user AS t ON t.id = c.counselor_id
LEFT JOIN user AS p ON p.id = s.player_id
LEFT JOIN practice_review AS r ON r.conversation_id = s.conversation_id
WHERE {where}
ORDER BY s.created_at DESC, s.conversation_id
LIMIT 500
"""


def _list_sessions(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[Session]:
    return [
        Session(
            r["conversation_id"],
            r["mode"],
            r["scenario_id"],
            r["scenario_title"],
            r["trainee_id"],
            r["trainee"],
            r["player"],
            r["status"],
            r["created_at"],
            r["closed_at"],
            bool(r["reviewed"]),
            bool(r["feedback_read"]),
            r["desk_id"],
        )
        for r in conn.execute(_SESSIONS.format(where=where), args)
    ]


def _scripted_among(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    rows = conn.execute(
        "SELECT conversation_id FROM practice_session WHERE mode = 'scripted' "
        "AND conversation_id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),),
    )
    return {r[0] for r in rows}


def _advance_script(conn: sqlite3.Connection, conversation_id: str) -> ScriptStep | None:
    row = conn.execute(
        "SELECT s.next_line, sc.lines, sc.ends_with_exit, c.status, c.counselor_id "
        "FROM practice_session AS s JOIN conversation AS c ON c.id = s.conversation_id "
        "JOIN practice_scenario AS sc ON sc.id = s.scenario_id "
        # Never a script outside a practice desk, whatever row says otherwise.
        "JOIN desk AS d ON d.id = c.desk_id AND d.practice = 1 "
        "WHERE s.conversation_id = ? AND s.mode = 'scripted'",
        (conversation_id,),
    ).fetchone()
    if row is None or row["status"] != "active":
        return None
    lines: list[str] = json.loads(row["lines"])
    answered = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM message WHERE conversation_id = ?1 AND author = "
        "'counselor' AND seq > (SELECT coalesce(max(seq), 0) FROM message "
        "WHERE conversation_id = ?1 AND author = 'visitor'))",
        (conversation_id,),
    ).fetchone()[0]
    turn = script_turn(row["next_line"], len(lines), bool(answered))
    if turn in ("wait", "done"):
        return None
    sent: list[Message] = []
    at = row["next_line"]
    if turn == "line":
        # The client_id makes the line's message unique: a turn can never send it twice.
        message = append_message(conn, conversation_id, "visitor", None, f"script-{at}", lines[at])
        if message is None:
            raise AppError(ErrorCode.NOT_FOUND)
        sent.append(message)
        at += 1
    leave = turn == "line" and at == len(lines) and bool(row["ends_with_exit"])
    if turn == "end" or leave:
        sent.append(append_system_message(conn, conversation_id, SCRIPT_ENDED))
        at = len(lines) + 1
    conn.execute(
        "UPDATE practice_session SET next_line = ? WHERE conversation_id = ?",
        (at, conversation_id),
    )
    return ScriptStep(tuple(sent), leave)


def _save_review(
    conn: sqlite3.Connection, conversation_id: str, reviewer_id: int, review: ReviewInput
) -> None:
    row = conn.execute(
        "SELECT c.status, c.counselor_id FROM practice_session AS s "
        "JOIN conversation AS c ON c.id = s.conversation_id WHERE s.conversation_id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None or row["counselor_id"] is None:
        raise AppError(ErrorCode.NOT_FOUND, "no practice chat that someone answered")
    if row["status"] != "closed":
        raise AppError(ErrorCode.CONVERSATION_OPEN, "a practice chat is reviewed once closed")
    known = {r[0] for r in conn.execute("SELECT id FROM rubric_item")}
    if any(item not in known for item, _, _ in review.scores):
        raise AppError(ErrorCode.NOT_FOUND, "no such rubric item")
    conn.execute("DELETE FROM practice_review WHERE conversation_id = ?", (conversation_id,))
    conn.execute(
        "INSERT INTO practice_review (conversation_id, reviewer_id, trainee_id, comment, "
        "created_at) VALUES (?, ?, ?, ?, ?)",
        (conversation_id, reviewer_id, row["counselor_id"], review.comment, now_iso()),
    )
    conn.executemany(
        "INSERT INTO practice_score (conversation_id, rubric_item_id, score, comment) "
        "VALUES (?, ?, ?, ?)",
        [(conversation_id, item, score, note) for item, score, note in review.scores],
    )
    conn.executemany(
        "INSERT INTO practice_mark (conversation_id, seq, comment) VALUES (?, ?, ?)",
        [(conversation_id, seq, comment) for seq, comment in review.marks],
    )


def _reviews(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[Review]:
    rows = conn.execute(
        "SELECT r.conversation_id, r.reviewer_id, u.display_name AS reviewer, r.trainee_id, "  # noqa: S608
        "r.comment, r.created_at, r.read_at FROM practice_review AS r "
        f"JOIN user AS u ON u.id = r.reviewer_id WHERE {where} ORDER BY r.created_at",
        args,
    ).fetchall()
    return [
        Review(
            r["conversation_id"],
            r["reviewer_id"],
            r["reviewer"],
            r["trainee_id"],
            r["comment"],
            r["created_at"],
            r["read_at"],
            _scores(conn, r["conversation_id"]),
            tuple(
                Mark(m["seq"], m["comment"])
                for m in conn.execute(
                    "SELECT seq, comment FROM practice_mark WHERE conversation_id = ? ORDER BY seq",
                    (r["conversation_id"],),
                )
            ),
        )
        for r in rows
    ]


def _scores(conn: sqlite3.Connection, conversation_id: str) -> tuple[Score, ...]:
    return tuple(
        Score(s["rubric_item_id"], s["label_ja"], s["label_en"], s["score"], s["comment"])
        for s in conn.execute(
            "SELECT s.rubric_item_id, i.label_ja, i.label_en, s.score, s.comment "
            "FROM practice_score AS s JOIN rubric_item AS i ON i.id = s.rubric_item_id "
            "WHERE s.conversation_id = ? ORDER BY i.position, i.id",
            (conversation_id,),
        )
    )


def _mark_read(conn: sqlite3.Connection, conversation_id: str, trainee_id: int) -> None:
    conn.execute(
        "UPDATE practice_review SET read_at = ? "
        "WHERE conversation_id = ? AND trainee_id = ? AND read_at IS NULL",
        (now_iso(), conversation_id, trainee_id),
    )


def _count_unread(conn: sqlite3.Connection, trainee_id: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM practice_review WHERE trainee_id = ? AND read_at IS NULL",
            (trainee_id,),
        ).fetchone()[0]
    )


def _open_transcript(
    conn: sqlite3.Connection, actor: Actor, conversation_id: str, purpose: str, limit: int
) -> list[Message]:
    found = conn.execute(
        "SELECT 1 FROM practice_session WHERE conversation_id = ?", (conversation_id,)
    ).fetchone()
    if found is None:
        raise AppError(ErrorCode.NOT_FOUND, "no such practice chat")
    detail = {"purpose": purpose}
    audit(conn, actor, "training.transcript.open", f"conversation:{conversation_id}", detail)
    messages, _ = list_messages(conn, conversation_id, 0, limit)
    return messages


ERASE_TRAINING = (
    "DELETE FROM practice_review WHERE conversation_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM practice_session WHERE conversation_id IN (SELECT value FROM json_each(?))",
)


def erase_training(conn: sqlite3.Connection, conversation_ids: list[str]) -> None:
    """Delete the reviews (scores and marks with them) and the sessions of these practice
    chats: for a retention purge that keeps the conversations' rows."""
    encoded = json.dumps(conversation_ids)
    for sql in ERASE_TRAINING:
        conn.execute(sql, (encoded,))
