"""The seam between the service and its database: the ``Store`` protocol and the records that
cross it.

Everything above ``service/db/`` (access, auth, the catalog, actions, realtime, http) knows the
database only through :class:`Store`; only ``app.py``, ``cli.py``, ``cli_admin.py`` and
``backup.py`` open a concrete one (``service.db.open_store``). Nothing here names SQLite: a
second backend implements the same protocol (tests/test_layers.py holds the import rule).

The protocol is split by area; :class:`Store` is all of them. A new storage method is added to
its area's protocol here and implemented in ``service/db/``; mypy checks the one against the
other where the store is opened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from service.crypto import Sealer
from service.domain.accounts import Role, User
from service.domain.audit import Actor, AuditEntry
from service.domain.casework import Case, ClosedFilter, ClosedItem
from service.domain.conversations import Author, Conversation, Message
from service.domain.desk_board import Activity
from service.domain.directory import Campaign, Desk, EmergencyContact, Partner
from service.domain.replies import CannedResponse, TopicTag
from service.domain.reports import Consultation
from service.domain.training import (
    Mode,
    Review,
    ReviewInput,
    RubricItem,
    Scenario,
    ScriptStep,
    Session,
)
from service.domain.visitors import Survey
from service.errors import AppError, ErrorCode


def sha256(secret: str) -> str:
    """How tokens and session ids are kept: only their hash is ever stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Credentials:
    user: User
    password_hash: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message: Message
    created: bool
    """False when the client_id was seen before and the earlier message is returned."""

    def __reduce__(self) -> tuple[type[StoredMessage], tuple[Message, bool]]:
        return StoredMessage, (self.message, self.created)  # see Message.__reduce__


@dataclass(frozen=True, slots=True)
class WriteLimits:
    """How long a write may wait and how many may wait (Settings ``write_*``)."""

    deadline: float = 4.0
    """Seconds a batch of writes has to commit. A write is answered within about this (twice
    it at worst: queued behind a batch, then its own); a writer that misses it is replaced."""
    queue_limit: int = 10_000
    """Writes waiting (queued or in the batch being committed); more are refused at once."""
    lock_wait: float = 1.0
    """Seconds the writing connection waits for a lock another program holds; well below
    ``deadline``, so that a locked database is answered with an error, not a timeout."""


class StorageUnavailable(AppError):
    """Writes cannot commit now (the writer hung, died or is being replaced; the database is
    locked; the store is closing). Nothing of the write was committed unless it is a retry-safe
    one, so the caller may retry it: ``internal_error`` tells clients exactly that."""

    def __init__(self, reason: str) -> None:
        super().__init__(ErrorCode.INTERNAL_ERROR, "storage is unavailable; please retry")
        self.reason = reason
        """For the log and ``/healthz``; never sent to a client."""

    def __reduce__(self) -> tuple[type[StorageUnavailable], tuple[str]]:  # type: ignore[override]
        return type(self), (self.reason,)


class SessionStore(Protocol):
    async def count_users(self) -> int: ...
    async def insert_user(
        self,
        username: str,
        display_name: str,
        role: Role,
        password_hash: str,
        desk_keys: Iterable[str] | None,
    ) -> int: ...
    async def get_credentials(self, username: str) -> Credentials | None: ...
    async def insert_session(self, session_id: str, user: User) -> None: ...
    async def record_failed_login(self, username: str) -> None: ...
    async def login_unlocks_since(self, after_id: int) -> tuple[int, list[str]]: ...
    async def get_session_user(self, session_id: str, idle_since: str) -> User | None: ...
    async def touch_session(self, session_id: str) -> None: ...
    async def delete_session(self, session_id: str) -> None: ...
    async def change_own_password(
        self, actor: Actor, user_id: int, password_hash: str, keep_session_hash: str
    ) -> None: ...


class ConversationStore(Protocol):
    async def insert_conversation(
        self,
        conversation_id: str,
        token: str,
        desk_id: int,
        partner_id: int | None,
        campaign: str | None,
        lang: str,
        topic: str | None,
    ) -> Conversation: ...
    async def get_conversation(self, conversation_id: str) -> Conversation | None: ...
    async def get_conversation_by_token(self, token: str) -> Conversation | None: ...
    async def list_open_conversations(
        self, desk_ids: Iterable[int] | None
    ) -> list[Conversation]: ...
    async def list_held_conversations(self, user_id: int) -> list[Conversation]: ...
    async def claim_conversation(
        self, conversation_id: str, user_id: int, max_chats: int | None = None
    ) -> Message: ...
    async def close_conversation(
        self,
        conversation_id: str,
        outcome: str,
        closed_by: Author,
        holder_id: int | None = None,
        quick_exit: bool = False,
    ) -> Message: ...
    async def append_message(
        self, conversation_id: str, author: Author, user_id: int | None, client_id: str, body: str
    ) -> StoredMessage: ...
    async def list_messages(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> tuple[list[Message], bool]: ...
    async def get_history(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> tuple[Conversation, list[Message], bool] | None: ...


class VisitorStore(Protocol):
    async def mark_urgent(self, conversation_id: str) -> bool: ...
    async def set_code_word(self, conversation_id: str, word: str) -> None: ...
    async def insert_survey(self, conversation_id: str, survey: Survey) -> None: ...
    async def recent_waits(self, desk_id: int, since: str, limit: int) -> list[tuple[str, str]]: ...
    async def day_activity(self, since: str) -> list[Activity]:
        """Every conversation started, claimed or closed at or after ``since``, with when each
        of those happened (the supervisors' board counts the day from them)."""
        ...


class CaseworkStore(Protocol):
    async def get_case(self, conversation_id: str) -> Case | None: ...
    async def was_held_by(self, conversation_id: str, user_id: int) -> bool: ...
    async def get_user(self, username: str) -> User | None: ...
    async def insert_note(
        self,
        conversation_id: str,
        user_id: int,
        body: str,
        kind: str = "note",
        to_user_id: int | None = None,
    ) -> None: ...
    async def set_tags(self, conversation_id: str, keys: list[str]) -> None: ...
    async def set_risk(self, conversation_id: str, level: str) -> str: ...
    async def set_summary(
        self, conversation_id: str, user_id: int, summary: str | None, base: str | None = None
    ) -> str: ...
    async def transfer_conversation(
        self,
        conversation_id: str,
        by_user_id: int,
        holder_id: int | None,
        to_user: User | None,
        to_desk_id: int,
        note: str | None,
        max_chats: int,
    ) -> Message: ...


class ClosedStore(Protocol):
    """Closed conversations: the casebook, audited openings, surveys."""

    async def list_closed(
        self, desk_ids: list[int] | None, held_by: int | None, where: ClosedFilter
    ) -> list[ClosedItem]: ...
    async def open_closed(
        self, actor: Actor, conversation_id: str, purpose: str, transcript: bool
    ) -> tuple[Case, list[Message]]: ...
    async def get_survey(self, conversation_id: str) -> dict[str, Any] | None: ...


class AdminStore(Protocol):
    """What admins set up (``service/db/admin.py``, ``admin_staff.py``), each change with its
    audit row."""

    async def ensure_defaults(self, default_hours: str) -> None: ...
    async def list_desks(self) -> list[Desk]: ...
    async def list_partners(self) -> list[Partner]: ...
    async def list_campaigns(self) -> list[Campaign]: ...
    async def list_emergency_contacts(self) -> list[EmergencyContact]: ...
    async def list_users(self) -> list[User]: ...
    async def list_canned_responses(self) -> list[CannedResponse]: ...
    async def list_topic_tags(self) -> list[TopicTag]: ...
    async def list_audit(self, limit: int = 200) -> list[AuditEntry]: ...
    async def insert_desk(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Desk: ...
    async def update_desk(self, actor: Actor, key: str, fields: Mapping[str, Any]) -> Desk: ...
    async def insert_partner(
        self, actor: Actor, key: str, fields: Mapping[str, Any]
    ) -> Partner: ...
    async def update_partner(
        self, actor: Actor, key: str, fields: Mapping[str, Any]
    ) -> Partner: ...
    async def insert_campaign(
        self, actor: Actor, code: str, fields: Mapping[str, Any]
    ) -> Campaign: ...
    async def update_campaign(
        self, actor: Actor, code: str, fields: Mapping[str, Any]
    ) -> Campaign: ...
    async def replace_emergency_contacts(
        self, actor: Actor, contacts: list[EmergencyContact]
    ) -> None: ...
    async def create_user(
        self,
        actor: Actor,
        username: str,
        display_name: str,
        role: str,
        password_hash: str,
        desk_keys: list[str] | None,
    ) -> int: ...
    async def update_user(self, actor: Actor, username: str, fields: Mapping[str, Any]) -> User: ...
    async def set_password(self, actor: Actor, username: str, password_hash: str) -> None: ...
    async def unlock_logins(self, actor: Actor, username: str) -> None: ...
    async def insert_canned_response(
        self, actor: Actor, desk_key: str | None, title: str, body: str
    ) -> CannedResponse: ...
    async def update_canned_response(
        self, actor: Actor, canned_id: int, fields: Mapping[str, Any]
    ) -> CannedResponse: ...
    async def delete_canned_response(self, actor: Actor, canned_id: int) -> None: ...
    async def insert_topic_tag(
        self, actor: Actor, key: str, label_ja: str, label_en: str
    ) -> TopicTag: ...
    async def update_topic_tag(
        self, actor: Actor, key: str, fields: Mapping[str, Any]
    ) -> TopicTag: ...


class ReportStore(Protocol):
    async def list_consultations(
        self, since: str, until: str, desk_ids: list[int] | None
    ) -> list[Consultation]: ...
    async def insert_report_export(
        self, actor: Actor, target: str, detail: dict[str, Any]
    ) -> None: ...


class TrainingStore(Protocol):
    """Counselor training (``domain/training.py``): scenarios, the rubric, practice sessions,
    the scripted visitor's turns and reviews."""

    async def list_scenarios(self) -> list[Scenario]: ...
    async def insert_scenario(self, actor: Actor, fields: Mapping[str, Any]) -> Scenario: ...
    async def update_scenario(
        self, actor: Actor, scenario_id: int, fields: Mapping[str, Any]
    ) -> Scenario: ...
    async def list_rubric(self) -> list[RubricItem]: ...
    async def insert_rubric_item(self, actor: Actor, fields: Mapping[str, Any]) -> RubricItem: ...
    async def update_rubric_item(
        self, actor: Actor, item_id: int, fields: Mapping[str, Any]
    ) -> RubricItem: ...
    async def insert_practice_session(
        self, conversation_id: str, scenario_id: int | None, mode: Mode, player_id: int | None
    ) -> None: ...
    async def choose_scenario(
        self, user_id: int, desk_id: int, scenario_id: int | None
    ) -> None: ...
    async def chosen_scenario(self, user_id: int, desk_id: int) -> int | None: ...
    async def get_practice_session(self, conversation_id: str) -> Session | None: ...
    async def list_practice_sessions(self, trainee_id: int | None) -> list[Session]: ...
    async def scripted_among(self, conversation_ids: Iterable[str]) -> set[str]: ...
    async def advance_script(self, conversation_id: str) -> ScriptStep | None: ...
    async def save_review(
        self, conversation_id: str, reviewer_id: int, review: ReviewInput
    ) -> None: ...
    async def get_review(self, conversation_id: str) -> Review | None: ...
    async def list_reviews(self, trainee_id: int) -> list[Review]: ...
    async def mark_review_read(self, conversation_id: str, trainee_id: int) -> None: ...
    async def count_unread_feedback(self, trainee_id: int) -> int: ...
    async def open_practice_transcript(
        self, actor: Actor, conversation_id: str, purpose: str, limit: int
    ) -> list[Message]:
        """A practice chat's messages, read for ``purpose`` and audited with the read."""
        ...


class UpkeepStore(Protocol):
    """Keeping the store itself: change detection, retention, keys, health, closing."""

    async def settings_version(self) -> int:
        """Advances with every committed change of the settings kept in memory."""
        ...

    async def purge_closed_before(
        self, actor: Actor, cutoff: str, limit: int, *, practice_only: bool = False
    ) -> int: ...

    async def forget_erased(self, compact: bool) -> bool:
        """Leave no copy of erased content in the storage's logs (after compacting the whole
        database if ``compact``); False if a reader kept them in use."""
        ...

    async def reseal(self, sealer: Sealer) -> int: ...

    async def check_writes(self, timeout: float) -> str | None:
        """None if a tiny write, queued like any other, commits within ``timeout`` seconds;
        otherwise why writes cannot commit now."""
        ...

    async def close(self) -> None:
        """Answer every queued write (committed, or refused with ``StorageUnavailable``), then
        release the database."""
        ...


class Store(
    SessionStore,
    ConversationStore,
    VisitorStore,
    CaseworkStore,
    ClosedStore,
    AdminStore,
    ReportStore,
    TrainingStore,
    UpkeepStore,
    Protocol,
):
    """The service's database, as everything above ``service/db/`` sees it. Every method is
    coroutine-safe. Writes return once committed; a write that cannot commit in time raises
    :class:`StorageUnavailable`, one refused because too many are waiting ``rate_limited``."""
