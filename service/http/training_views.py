"""What the training pages show: practice sessions as rows, scores over time, the practice
desks one may use and the scenario card beside a practice chat. Shapes only; the controllers
(``training.py``, ``training_library.py``, ``training_review.py``) read and decide."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from service import access
from service.context import Ctx
from service.domain.accounts import User
from service.domain.directory import has_japanese
from service.domain.training import (
    Review,
    RubricItem,
    Scenario,
    Session,
    may_read_feedback,
    may_review_session,
    score_table,
)
from service.http.staff_pages import text_of
from service.training_i18n import TRAINING_TEXT


def language_marks(lang: str) -> dict[str, Callable[[object], Any]]:
    """How the training templates mark Japanese content (typed by staff, or shipped in
    Japanese) on an English page, so that screen readers pronounce it as Japanese:
    ``ja(text)`` wraps it in ``<span lang="ja">``, ``ja_attr(text)`` is the attribute for an
    element of its own and ``ja_lang(text)`` its value. Text without kana or kanji, and
    anything on a Japanese page, is left as it is."""
    english = lang == "en"

    def japanese(text: object) -> bool:
        return english and text is not None and has_japanese(str(text))

    def ja(text: object) -> Markup:
        if japanese(text):
            return Markup('<span lang="ja">{}</span>').format(text)
        return escape("" if text is None else text)

    def ja_attr(text: object) -> Markup:
        return Markup(' lang="ja"') if japanese(text) else Markup("")

    def ja_lang(text: object) -> str:
        return "ja" if japanese(text) else ""

    return {"ja": ja, "ja_attr": ja_attr, "ja_lang": ja_lang}


def words(lang: str) -> dict[str, str]:
    """The inbox's words, the training pages' own among them."""
    return dict(text_of(lang))


def state_of(session: Session) -> str:
    if session.status != "closed":
        return "state_open"
    if not session.reviewed:
        return "state_unreviewed"
    return "state_reviewed" if session.feedback_read else "state_unread"


def session_rows(
    sessions: Iterable[Session], viewer: User, t: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One row per practice chat, with the link the viewer may follow: a reviewer's to the
    review, the trainee's to their feedback once there is some."""
    rows = []
    for s in sessions:
        link = ""
        if s.reviewed and may_read_feedback(viewer, s):
            link = f"/inbox/training/feedback/{s.conversation_id}"
        if s.status == "closed" and s.trainee_id is not None and may_review_session(viewer, s):
            link = f"/inbox/training/reviews/{s.conversation_id}"
        rows.append(
            {
                "id": s.conversation_id,
                "at": s.created_at,
                "scenario": s.scenario_title or t["no_scenario"],
                "mode": t[f"mode_{s.mode}"],
                "trainee": s.trainee or "",
                "trainee_id": s.trainee_id,
                "player": s.player or "",
                "state": t[state_of(s)],
                "link": link,
                "link_text": t["review_action"]
                if link.startswith("/inbox/training/reviews/")
                else t["feedback_action"],
            }
        )
    return rows


def scores_view(
    reviews: Sequence[Review], rubric: Sequence[RubricItem], lang: str
) -> dict[str, Any]:
    columns, rows = score_table([(r.created_at, r.scores) for r in reviews], rubric)
    return {
        "columns": [i.label_en if lang == "en" and i.label_en else i.label_ja for i in columns],
        "rows": [{"at": at, "scores": scores} for at, scores in rows],
    }


def practice_desks(ctx: Ctx, user: User) -> list[Any]:
    """The practice desks ``user`` may practise at."""
    return [d for d in ctx.catalog.desks.values() if access.may_practise(user, d)]


def card(scenario: Scenario | None) -> dict[str, Any] | None:
    """The scenario card beside a practice chat, for the one playing its visitor."""
    if scenario is None:
        return None
    return {
        "id": scenario.id,
        "title": scenario.title,
        "persona": scenario.persona,
        "situation": scenario.situation,
        "lines": scenario.lines,
        "focus": scenario.focus,
    }


async def play_context(ctx: Ctx, user: User, desk_id: int, lang: str) -> dict[str, Any]:
    """What the page that opens the widget at a practice desk adds: the scenarios one may
    choose and the card of the one chosen for that desk."""
    scenarios = [s for s in await ctx.store.list_scenarios() if not s.archived]
    chosen_id = await ctx.store.chosen_scenario(user.id, desk_id)
    chosen = next((s for s in scenarios if s.id == chosen_id), None)
    return {
        "tt": TRAINING_TEXT[lang],
        "scenarios": [{"id": s.id, "title": s.title} for s in scenarios],
        "card": card(chosen),
        **language_marks(lang),
    }
