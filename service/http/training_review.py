"""``/inbox/training/reviews/ID`` and ``/inbox/training/feedback/ID``: a supervisor or admin
reviews a closed practice chat (comments on single messages, the rubric's scores, a word on the
whole), and its trainee reads the feedback.

A review and its feedback are the trainee's and their supervisors' and admins' only: another
counselor gets 404, as for a chat that does not exist. What the scenario asked to practise
shows on both pages: the trainee reads it only now, with the feedback.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from service.context import Ctx
from service.domain.accounts import User
from service.domain.conversations import Message
from service.domain.training import (
    Review,
    Session,
    check_review,
    may_read_feedback,
    may_review_session,
)
from service.errors import AppError
from service.http.form_errors import Forms, typed
from service.http.staff_pages import (
    COUNSELING,
    NO_STORE,
    STAFF_EXCEPTIONS,
    SUPERVISING,
    Req,
    actor_of,
    staff_of,
    staff_only,
)
from service.http.training_forms import refused_form
from service.http.training_views import card, language_marks, words
from service.i18n import pick_lang

TRANSCRIPT_LIMIT = 2000
"""Messages shown of one practice chat (a practice chat is short; a longer one is cut)."""


class ReviewController(Controller):
    path = "/inbox/training"
    include_in_schema = False
    guards = [staff_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    opt = SUPERVISING
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    @get("/reviews/{conversation_id:str}")
    async def review(
        self, request: Req, ctx: Ctx, conversation_id: str, lang: str | None = None
    ) -> Template:
        session = await reviewable(ctx, staff_of(request), conversation_id)
        found = await ctx.store.get_review(conversation_id)
        values = review_values(found) if found else {}
        return await self._page(request, ctx, session, pick_lang(lang), Forms(), values)

    @post("/reviews/{conversation_id:str}")
    async def submit(
        self, request: Req, ctx: Ctx, conversation_id: str, lang: str | None = None
    ) -> Template | Redirect:
        chosen = pick_lang(lang)
        session = await reviewable(ctx, staff_of(request), conversation_id)
        values = typed(await request.form())
        rubric = await ctx.store.list_rubric()
        messages = await transcript(ctx, conversation_id)
        try:
            review = check_review(values, rubric, [m.seq for m in messages])
            await ctx.store.save_review(conversation_id, staff_of(request).id, review)
        except AppError as exc:
            t = words(chosen)
            names = {f"score-{i.id}": t["score_label"].format(label=i.label_ja) for i in rubric}
            fields = [*names, *(f"note-{i.id}" for i in rubric), "comment"]
            fields += [f"mark-{m.seq}" for m in messages]
            forms = refused_form("review", exc, fields, values, t, names)
            return await self._page(request, ctx, session, chosen, forms, values, 400)
        trainee = session.trainee_id
        return Redirect(f"/inbox/training/trainees/{trainee}?lang={chosen}", status_code=303)

    @get("/feedback/{conversation_id:str}", opt=COUNSELING)
    async def feedback(
        self, request: Req, ctx: Ctx, conversation_id: str, lang: str | None = None
    ) -> Template:
        user, chosen = staff_of(request), pick_lang(lang)
        found = await ctx.store.get_review(conversation_id)
        session = await ctx.store.get_practice_session(conversation_id)
        if found is None or session is None or not may_read_feedback(user, session):
            raise NotFoundException()
        messages = await ctx.store.open_practice_transcript(
            actor_of(request), conversation_id, "feedback", TRANSCRIPT_LIMIT
        )
        if found.trainee_id == user.id and found.read_at is None:
            await ctx.store.mark_review_read(conversation_id, user.id)
        marks = {m.seq: m.comment for m in found.marks}
        t = words(chosen)
        return Template(
            "training/feedback.html",
            context={
                "t": t,
                "lang": chosen,
                "user": user,
                "session": session,
                "review": found,
                "card": await scenario_card(ctx, session),
                "messages": lines_of(messages, marks, t),
                "feedback_unread": await ctx.store.count_unread_feedback(user.id),
                **language_marks(chosen),
            },
            headers=NO_STORE,
        )

    async def _page(
        self,
        request: Req,
        ctx: Ctx,
        session: Session,
        lang: str,
        forms: Forms,
        values: dict[str, Any],
        status: int = 200,
    ) -> Template:
        t, user = words(lang), staff_of(request)
        rubric = [i for i in await ctx.store.list_rubric() if i.active]
        # The reviewer reads the transcript: audited as the opening of a real record is.
        messages = await ctx.store.open_practice_transcript(
            actor_of(request), session.conversation_id, "review", TRANSCRIPT_LIMIT
        )
        return Template(
            "training/review.html",
            context={
                "t": t,
                "lang": lang,
                "user": user,
                "session": session,
                "card": await scenario_card(ctx, session),
                "messages": lines_of(messages, {}, t),
                "rubric": rubric,
                "form": forms.of("review", values),
                "forms": forms,
                "reviewed": bool(await ctx.store.get_review(session.conversation_id)),
                "feedback_unread": await ctx.store.count_unread_feedback(user.id),
                **language_marks(lang),
            },
            status_code=status,
            headers=NO_STORE,
        )


async def reviewable(ctx: Ctx, user: User, conversation_id: str) -> Session:
    """A closed practice chat that somebody answered, at a desk ``user`` reviews; 404 for
    anything else, as for a real record out of one's desks."""
    session = await ctx.store.get_practice_session(conversation_id)
    if session is None or session.status != "closed" or session.trainee_id is None:
        raise NotFoundException()
    if not may_review_session(user, session):
        raise NotFoundException()
    return session


async def transcript(ctx: Ctx, conversation_id: str) -> list[Message]:
    messages, _ = await ctx.store.list_messages(conversation_id, 0, TRANSCRIPT_LIMIT)
    return messages


async def scenario_card(ctx: Ctx, session: Session) -> dict[str, Any] | None:
    if session.scenario_id is None:
        return None
    found = next((s for s in await ctx.store.list_scenarios() if s.id == session.scenario_id), None)
    return card(found)


def lines_of(
    messages: list[Message], marks: dict[int, str], t: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "seq": m.seq,
            "author": m.author,
            "who": t[m.author] if m.author != "counselor" else m.writer or t["counselor"],
            "body": m.body,
            "at": m.created_at,
            "mark": marks.get(m.seq, ""),
        }
        for m in messages
    ]


def review_values(review: Review) -> dict[str, Any]:
    """A stored review as its form shows it, to be edited and sent again."""
    values: dict[str, Any] = {"comment": review.comment}
    for s in review.scores:
        values[f"score-{s.rubric_item_id}"] = str(s.score)
        values[f"note-{s.rubric_item_id}"] = s.comment
    for m in review.marks:
        values[f"mark-{m.seq}"] = m.comment
    return values
