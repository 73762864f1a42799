"""``/inbox/training``: a trainee's practice and feedback, starting a scripted practice chat,
choosing the scenario to role-play at a practice desk, and what the inbox asks about a
practice chat.

A trainee's sessions and feedback are theirs and their supervisors' and admins' only: anyone
else gets 404, as for a trainee who does not exist. Scenarios and the rubric are in
``training_library.py``, reviews in ``training_review.py``.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from markupsafe import escape

from service import access
from service.actions.training import scenario_of, start_scripted
from service.context import Ctx
from service.domain.accounts import User
from service.domain.training import (
    may_read_feedback,
    may_review,
    may_review_session,
    may_see_training_of,
)
from service.errors import AppError, ErrorCode
from service.http.form_errors import Forms
from service.http.params import RowId
from service.http.staff_pages import (
    COUNSELING,
    NO_STORE,
    STAFF_EXCEPTIONS,
    Req,
    staff_of,
    staff_only,
)
from service.http.training_forms import refused_form
from service.http.training_library import LibraryController
from service.http.training_review import ReviewController
from service.http.training_views import (
    language_marks,
    practice_desks,
    scores_view,
    session_rows,
    words,
)
from service.i18n import pick_lang


class TrainingController(Controller):
    path = "/inbox/training"
    include_in_schema = False
    guards = [staff_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    opt = COUNSELING
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    @get("/")
    async def mine(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        user = staff_of(request)
        return await trainee_page(ctx, user, user, pick_lang(lang))

    @get("/trainees/{user_id:int}")
    async def trainee(
        self, request: Req, ctx: Ctx, user_id: RowId, lang: str | None = None
    ) -> Template:
        viewer = staff_of(request)
        found = next((u for u in await ctx.store.list_users() if u.id == user_id), None)
        if found is None or not may_see_training_of(viewer, found.id):
            raise NotFoundException()
        return await trainee_page(ctx, viewer, found, pick_lang(lang))

    @post("/scripted")
    async def scripted(self, request: Req, ctx: Ctx, lang: str | None = None) -> Any:
        user, chosen = staff_of(request), pick_lang(lang)
        form = await request.form()
        values = {"scenario": str(form.get("scenario", "")), "desk": str(form.get("desk", ""))}
        desk = ctx.catalog.desks.get(values["desk"])
        try:
            if desk is None or not access.may_practise(user, desk):
                raise AppError(ErrorCode.INVALID_PAYLOAD, "desk: choose a practice desk you work")
            if not values["scenario"].isdigit():
                raise AppError(ErrorCode.INVALID_PAYLOAD, "scenario: choose a scenario")
            scenario = await scenario_of(ctx, int(values["scenario"]))
        except AppError as exc:
            t = words(chosen)
            forms = refused_form("scripted", exc, ["scenario", "desk"], values, t)
            return await trainee_page(ctx, user, user, chosen, forms, 400)
        conversation_id = await start_scripted(ctx, user, desk, scenario)
        return Redirect(f"/inbox?lang={chosen}#{conversation_id}", status_code=303)

    @post("/play/{key:str}")
    async def play(self, request: Req, ctx: Ctx, key: str, lang: str | None = None) -> Redirect:
        """The scenario the staff member plays at the practice desk ``key`` (none: empty)."""
        user = staff_of(request)
        desk = ctx.catalog.desks.get(key)
        if desk is None or not access.may_practise(user, desk):
            raise NotFoundException()
        raw = str((await request.form()).get("scenario", ""))
        scenario_id = None
        if raw:
            try:
                scenario_id = (await scenario_of(ctx, int(raw))).id
            except (ValueError, AppError):
                raise NotFoundException() from None
        await ctx.store.choose_scenario(user.id, desk.id, scenario_id)
        return Redirect(f"/inbox/practice/{key}?lang={pick_lang(lang)}", status_code=303)

    @get("/chat/{conversation_id:str}")
    async def chat(self, request: Req, ctx: Ctx, conversation_id: str) -> dict[str, Any]:
        """What the inbox shows of a practice chat to one who may read it: that it is practice,
        how it is played and its scenario's title, never what to practise."""
        user = staff_of(request)
        try:
            await access.conversation_to_read(ctx.store, user, conversation_id)
        except AppError:
            raise NotFoundException() from None
        session = await ctx.store.get_practice_session(conversation_id)
        if session is None:
            raise NotFoundException()
        return {"mode": session.mode, "scenario": session.scenario_title}

    @get("/unread")
    async def unread(self, request: Req, ctx: Ctx) -> dict[str, int]:
        """How many reviews of one's practice one has not read yet (the inbox's badge)."""
        return {"count": await ctx.store.count_unread_feedback(staff_of(request).id)}


async def trainee_page(
    ctx: Ctx,
    viewer: User,
    trainee: User,
    lang: str,
    forms: Forms | None = None,
    status: int = 200,
) -> Template:
    t, marks = words(lang), language_marks(lang)
    own = viewer.id == trainee.id
    # A supervisor sees the practice of the desks they work only, as with real records.
    sessions = [
        s
        for s in await ctx.store.list_practice_sessions(trainee.id)
        if may_read_feedback(viewer, s)
    ]
    shown = {s.conversation_id for s in sessions}
    reviews = [r for r in await ctx.store.list_reviews(trainee.id) if r.conversation_id in shown]
    titles = {s.conversation_id: s.scenario_title or t["no_scenario"] for s in sessions}
    context: dict[str, Any] = {
        "t": t,
        "lang": lang,
        "user": viewer,
        "trainee": trainee,
        "own": own,
        "heading": t["training_title"]
        if own
        else t["trainee_title"].format(name=trainee.display_name),
        # The same in the page's heading, the name marked Japanese on an English page.
        "heading_html": escape(t["training_title"])
        if own
        else escape(t["trainee_title"]).format(name=marks["ja"](trainee.display_name)),
        "sessions": session_rows(sessions, viewer, t),
        "scores": scores_view(reviews, await ctx.store.list_rubric(), lang),
        "unread": [
            {
                "id": r.conversation_id,
                "at": r.created_at,
                "title": titles.get(r.conversation_id, ""),
            }
            for r in reviews
            if r.read_at is None
        ],
        "forms": forms or Forms(),
        "feedback_unread": await ctx.store.count_unread_feedback(viewer.id),
        **marks,
    }
    if own:
        desks = practice_desks(ctx, viewer)
        context["desks"] = [(d.key, d.name) for d in desks]
        context["scenarios"] = [
            (str(s.id), s.title) for s in await ctx.store.list_scenarios() if not s.archived
        ]
    if own and may_review(viewer):
        every = [
            s for s in await ctx.store.list_practice_sessions(None) if may_review_session(viewer, s)
        ]
        waiting = [
            s for s in every if s.status == "closed" and not s.reviewed and s.trainee_id is not None
        ]
        context["to_review"] = session_rows(waiting, viewer, t)
        trainees = {s.trainee_id: s.trainee for s in every if s.trainee_id is not None}
        context["trainees"] = sorted(trainees.items(), key=lambda item: item[1] or "")
    return Template("training/trainee.html", context=context, status_code=status, headers=NO_STORE)


TRAINING_PAGES = [TrainingController, LibraryController, ReviewController]
