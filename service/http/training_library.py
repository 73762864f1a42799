"""``/inbox/training/scenarios`` and ``/inbox/training/rubric``: the scenario library that
supervisors and admins keep (list, add, edit, archive) and the rubric, which admins edit.

Plain forms with CSRF, as the admin pages; a refused form comes back with what was typed and
its errors beside the fields. Every change is audited with its author as the actor.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from service.context import Ctx
from service.domain.training import Scenario, check_rubric_item, check_scenario
from service.errors import AppError
from service.http.form_errors import Forms, typed
from service.http.params import RowId
from service.http.staff_pages import (
    NO_STORE,
    STAFF_EXCEPTIONS,
    SUPERVISING,
    Req,
    actor_of,
    staff_of,
    staff_only,
)
from service.http.training_forms import refused_form
from service.http.training_views import language_marks, words
from service.i18n import pick_lang

ADMINS = {"roles": frozenset({"admin"})}
SCENARIO_FIELDS = ["title", "topic", "persona", "situation", "lines", "focus", "ends_with_exit"]
RUBRIC_FIELDS = ["label_ja", "label_en", "hint", "position", "active"]


def scenario_values(s: Scenario) -> dict[str, Any]:
    """A scenario as its form shows it: the lines one per line."""
    return {
        "title": s.title,
        "topic": s.topic,
        "persona": s.persona,
        "situation": s.situation,
        "lines": "\n".join(s.lines),
        "focus": s.focus,
    }


def saved_redirect(scenario_id: int, lang: str) -> Redirect:
    return Redirect(f"/inbox/training/scenarios/{scenario_id}?lang={lang}&saved=1", status_code=303)


class LibraryController(Controller):
    path = "/inbox/training"
    include_in_schema = False
    guards = [staff_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    opt = SUPERVISING
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    @get("/scenarios")
    async def scenarios(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        chosen = pick_lang(lang)
        return self._page(
            request, "training/scenarios.html", chosen, scenarios=await ctx.store.list_scenarios()
        )

    @get("/scenarios/new")
    async def new(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        return await self._form(request, ctx, pick_lang(lang), None, Forms())

    @post("/scenarios")
    async def add(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template | Redirect:
        chosen, form = pick_lang(lang), await request.form()
        values = typed(form)
        try:
            fields = check_scenario(values, await self._topics(ctx))
            made = await ctx.store.insert_scenario(actor_of(request), fields)
        except AppError as exc:
            forms = refused_form("scenario", exc, SCENARIO_FIELDS, values, words(chosen))
            return await self._form(request, ctx, chosen, None, forms, 400)
        return Redirect(
            f"/inbox/training/scenarios/{made.id}?lang={chosen}&saved=1", status_code=303
        )

    @get("/scenarios/{scenario_id:int}")
    async def edit(
        self, request: Req, ctx: Ctx, scenario_id: RowId, lang: str | None = None, saved: str = ""
    ) -> Template:
        found = await self._scenario(ctx, scenario_id)
        return await self._form(request, ctx, pick_lang(lang), found, Forms(), saved=bool(saved))

    @post("/scenarios/{scenario_id:int}")
    async def update(
        self, request: Req, ctx: Ctx, scenario_id: RowId, lang: str | None = None
    ) -> Template | Redirect:
        chosen, found = pick_lang(lang), await self._scenario(ctx, scenario_id)
        form = await request.form()
        if form.get("archive") in ("1", "0"):
            archived = form.get("archive") == "1"
            await ctx.store.update_scenario(actor_of(request), found.id, {"archived": archived})
            return Redirect(f"/inbox/training/scenarios?lang={chosen}", status_code=303)
        values = typed(form)
        try:
            fields = check_scenario(values, await self._topics(ctx))
            await ctx.store.update_scenario(actor_of(request), found.id, fields)
        except AppError as exc:
            forms = refused_form("scenario", exc, SCENARIO_FIELDS, values, words(chosen))
            return await self._form(request, ctx, chosen, found, forms, 400)
        return Redirect(
            f"/inbox/training/scenarios/{found.id}?lang={chosen}&saved=1", status_code=303
        )

    @get("/rubric")
    async def rubric(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        return await self._rubric(request, ctx, pick_lang(lang), Forms())

    @post("/rubric", opt=ADMINS)
    async def add_item(
        self, request: Req, ctx: Ctx, lang: str | None = None
    ) -> Template | Redirect:
        chosen, values = pick_lang(lang), typed(await request.form())
        try:
            await ctx.store.insert_rubric_item(actor_of(request), check_rubric_item(values))
        except AppError as exc:
            forms = refused_form("item-new", exc, RUBRIC_FIELDS, values, words(chosen))
            return await self._rubric(request, ctx, chosen, forms, 400)
        return Redirect(f"/inbox/training/rubric?lang={chosen}", status_code=303)

    @post("/rubric/{item_id:int}", opt=ADMINS)
    async def update_item(
        self, request: Req, ctx: Ctx, item_id: RowId, lang: str | None = None
    ) -> Template | Redirect:
        chosen, values = pick_lang(lang), typed(await request.form())
        if not any(i.id == item_id for i in await ctx.store.list_rubric()):
            raise NotFoundException()
        try:
            await ctx.store.update_rubric_item(
                actor_of(request), item_id, check_rubric_item(values)
            )
        except AppError as exc:
            forms = refused_form(f"item-{item_id}", exc, RUBRIC_FIELDS, values, words(chosen))
            return await self._rubric(request, ctx, chosen, forms, 400)
        return Redirect(f"/inbox/training/rubric?lang={chosen}", status_code=303)

    # -- pages -------------------------------------------------------------------------------

    def _page(
        self, request: Req, template: str, lang: str, status: int = 200, **context: Any
    ) -> Template:
        base = {
            "t": words(lang),
            "lang": lang,
            "user": staff_of(request),
            "forms": Forms(),
            **language_marks(lang),
        }
        return Template(template, context={**base, **context}, status_code=status, headers=NO_STORE)

    async def _form(
        self,
        request: Req,
        ctx: Ctx,
        lang: str,
        found: Scenario | None,
        forms: Forms,
        status: int = 200,
        saved: bool = False,
    ) -> Template:
        t = words(lang)
        tags = [tg for tg in await ctx.store.list_topic_tags() if tg.enabled]
        topics = [("", t["f_topic_none"])] + [
            (tg.key, tg.label_en if lang == "en" and tg.label_en else tg.label_ja) for tg in tags
        ]
        return self._page(
            request,
            "training/scenario.html",
            lang,
            status,
            scenario=found,
            values=scenario_values(found) if found else {},
            topics=topics,
            forms=forms,
            saved=saved,
        )

    async def _rubric(
        self, request: Req, ctx: Ctx, lang: str, forms: Forms, status: int = 200
    ) -> Template:
        return self._page(
            request,
            "training/rubric.html",
            lang,
            status,
            items=await ctx.store.list_rubric(),
            editable=staff_of(request).role == "admin",
            forms=forms,
        )

    async def _scenario(self, ctx: Ctx, scenario_id: int) -> Scenario:
        found = next((s for s in await ctx.store.list_scenarios() if s.id == scenario_id), None)
        if found is None:
            raise NotFoundException()
        return found

    async def _topics(self, ctx: Ctx) -> list[str]:
        return [tg.key for tg in await ctx.store.list_topic_tags() if tg.enabled]
