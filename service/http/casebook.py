"""Closed conversations: a list filtered by date, desk, tag, outcome and code word, and a record
opened on purpose, each opening written to the audit log in the same transaction as the read.

Field-level access (decided by ``access.closed_list_scope`` and ``access.closed_record``): the
list never shows a summary or a message. Opening shows the handoff (summary, code word, outcome,
tags, risk) to a counselor of its desk who held it or gives its code word; the transcript and
the staff notes only to its last holder and to the supervisors of its desk. A counselor lists
only what they held, unless they give the exact code word a visitor told them: that is how a
phone counselor finds the handoff of someone who calls.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Template

from service import access
from service.context import Ctx
from service.domain.accounts import User
from service.domain.casework import PURPOSES, ClosedFilter, check_purpose, parse_day
from service.domain.conversations import OUTCOMES
from service.domain.directory import staff_desk_name
from service.domain.visitors import normalise_code_word
from service.errors import AppError
from service.http.staff_pages import (
    COUNSELING,
    NO_STORE,
    STAFF_EXCEPTIONS,
    Req,
    actor_of,
    staff_of,
    staff_only,
    text_of,
)
from service.i18n import pick_lang


def _filter(ctx: Ctx, user: User, query: dict[str, str]) -> tuple[ClosedFilter, str]:
    """The filter from the query string, and a problem key if a field was refused."""
    try:
        desk = ctx.catalog.desks.get(query.get("desk", ""))
        word = query.get("code_word", "").strip()
        return (
            ClosedFilter(
                date_from=parse_day(query.get("from")),
                date_to=parse_day(query.get("to")),
                desk_id=desk.id if desk and user.works_desk(desk.id) else None,
                tag=query.get("tag") or None,
                outcome=query.get("outcome") if query.get("outcome") in OUTCOMES else None,
                code_word=normalise_code_word(word) if word else None,
            ),
            "",
        )
    except AppError:
        return ClosedFilter(), "filter_invalid"


class CasebookController(Controller):
    path = "/inbox/closed"
    include_in_schema = False
    guards = [staff_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    opt = COUNSELING
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    @get("/")
    async def closed(self, request: Req, ctx: Ctx, lang: str | None = None) -> Template:
        user, chosen = staff_of(request), pick_lang(lang)
        query = {k: str(v) for k, v in request.query_params.items()}
        where, problem = _filter(ctx, user, query)
        chosen_desk = ctx.catalog.desk_by_id(where.desk_id)
        desk_ids, held_by = access.closed_list_scope(
            user, ctx.catalog.desks.values(), practice=bool(chosen_desk and chosen_desk.practice)
        )
        items = await ctx.store.list_closed(desk_ids, held_by, where)
        text = text_of(chosen)
        tags = await ctx.store.list_topic_tags()
        return Template(
            "inbox/closed.html",
            context={
                "t": text,
                "lang": chosen,
                "user": user,
                "query": query,
                "problem": problem,
                "items": [
                    {
                        "id": i.id,
                        "desk": _desk_name(ctx, i.desk_id, chosen),
                        "practice": ctx.catalog.is_practice(i.desk_id),
                        "created_at": i.created_at,
                        "closed_at": i.closed_at or "",
                        "outcome": text.get(f"outcome_{i.outcome}", i.outcome or ""),
                        "risk": text[f"risk_{i.risk}"],
                        "urgent": i.risk == "urgent",
                        "quick_exit": i.quick_exit,
                        "counselor": i.counselor or "",
                        "tags": [_tag_label(tags, k, chosen) for k in i.tags],
                        "has_summary": i.has_summary,
                    }
                    for i in items
                ],
                "desks": access.desks_worked(user, ctx.catalog.desks.values()),
                "tags": tags,
                "outcomes": [(o, text[f"outcome_{o}"]) for o in OUTCOMES],
                "purposes": [(p, text[f"purpose_{p}"]) for p in PURPOSES],
            },
            headers=NO_STORE,
        )

    @post("/{conversation_id:str}")
    async def open_record(
        self, request: Req, ctx: Ctx, conversation_id: str, lang: str | None = None
    ) -> Template:
        """Open one closed conversation, saying why; the opening is audited."""
        user, chosen = staff_of(request), pick_lang(lang)
        form = await request.form()
        try:
            purpose = check_purpose(str(form.get("purpose", "")))
        except AppError:
            raise NotFoundException() from None
        try:
            conv, full = await access.closed_record(
                ctx.store, user, conversation_id, str(form.get("code_word", ""))
            )
        except AppError:
            raise NotFoundException() from None
        case, messages = await ctx.store.open_closed(actor_of(request), conv.id, purpose, full)
        text = text_of(chosen)
        tags = await ctx.store.list_topic_tags()
        survey = await ctx.store.get_survey(conv.id) if access.may_read_survey(user) else None
        return Template(
            "inbox/record.html",
            context={
                "t": text,
                "lang": chosen,
                "user": user,
                "conv": conv,
                "desk": _desk_name(ctx, conv.desk_id, chosen),
                "practice": ctx.catalog.is_practice(conv.desk_id),
                "outcome": text.get(f"outcome_{conv.outcome}", conv.outcome or ""),
                "risk": text[f"risk_{case.risk}"],
                "case": case,
                "tags": [_tag_label(tags, k, chosen) for k in case.tags],
                "full": full,
                "messages": messages,
                "notes": case.notes if full else (),
                "survey": survey,
                "purpose": text[f"purpose_{purpose}"],
            },
            headers=NO_STORE,
        )


def _desk_name(ctx: Ctx, desk_id: int, lang: str) -> str:
    desk = ctx.catalog.desk_by_id(desk_id)
    return staff_desk_name(desk, lang) if desk else ""


def _tag_label(tags: list[Any], key: str, lang: str) -> str:
    tag = next((t for t in tags if t.key == key), None)
    if tag is None:
        return key
    return str(tag.label_en or tag.label_ja) if lang == "en" else str(tag.label_ja)
