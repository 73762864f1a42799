"""The emergency contacts page (``/admin/contacts``): the whole list in one form, one fieldset a
contact, with buttons that add a contact, remove one or move it up or down.

Those buttons work without any script: each is a submit button named ``action`` (``add``,
``remove-2``, ``up-2``, ``down-2``) and answers with the form rearranged as it was typed, saving
nothing; only ``保存`` (``save``) saves, through the same operation as the admin API. A field of
contact ``n`` is named ``{n}-{field}`` (``2-number``), so its id is ``contacts-2-number`` and an
error links to the exact field of the exact contact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

import msgspec
from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect, Template

from service.actions.admin import read_input
from service.actions.admin.directory import ContactIn, ContactsReplace, do_replace_contacts
from service.admin_i18n import form_message
from service.context import Ctx
from service.domain.checks import check_contacts
from service.errors import AppError
from service.http.admin_pages import AdminPages, Req, page, with_lang
from service.http.admin_views import contact_json
from service.http.form_errors import FieldError, Forms, FormState, refusal
from service.http.guards import admin_ops
from service.i18n import pick_lang

CONTACT_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(ContactIn))
"""A contact's fields as the API takes them, in the order ``check_contacts`` reads them."""

FIELD_NAME = re.compile(r"^(\d{1,3})-(\w+)$")
MOVE = re.compile(r"^(remove|up|down)-(\d{1,3})$")

Row = dict[str, str]


def rows_of(form: FormMultiDict) -> list[Row]:
    """The contacts as typed, in the form's order (the number in each field's name)."""
    rows: dict[int, Row] = {}
    for name, value in form.items():
        found = FIELD_NAME.match(name)
        if found and found.group(2) in CONTACT_FIELDS:
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = str(value).strip()
    return [{f: rows[n].get(f, "") for f in CONTACT_FIELDS} for n in sorted(rows)]


def blank(row: Row) -> bool:
    return not any(row.values())


def rearranged(rows: Sequence[Row], action: str) -> list[Row]:
    """The rows after a button other than save: one added at the end, one removed, or one
    swapped with its neighbour. An action out of range leaves the rows as they were."""
    rows = list(rows)
    if action == "add":
        return [*rows, dict.fromkeys(CONTACT_FIELDS, "")]
    found = MOVE.match(action)
    if found is None:
        return rows
    verb, at = found.group(1), int(found.group(2))
    if not 0 <= at < len(rows):
        return rows
    if verb == "remove":
        return rows[:at] + rows[at + 1 :]
    other = at - 1 if verb == "up" else at + 1
    if 0 <= other < len(rows):
        rows[at], rows[other] = rows[other], rows[at]
    return rows


def values_of(rows: Sequence[Row]) -> dict[str, str]:
    """The rows as the form's controls show them (``{n}-{field}``)."""
    return {f"{n}-{f}": row[f] for n, row in enumerate(rows) for f in CONTACT_FIELDS}


def line_errors(rows: Sequence[Row], lang: str) -> dict[str, FieldError]:
    """Each contact checked on its own, so that a refusal names its contact and its field:
    ``2件目：番号を入力してください。`` beside ``contacts-1-number``."""
    errors: dict[str, FieldError] = {}
    for n, row in enumerate(rows):
        try:
            # One tuple in the order of ContactIn's fields, as do_replace_contacts builds it.
            check_contacts([cast(Any, tuple(row[f] for f in CONTACT_FIELDS))])
        except AppError as own:
            said = refusal(own, CONTACT_FIELDS, row, lang)
            name = said.field or CONTACT_FIELDS[0]
            message = form_message("line", lang).format(n=n + 1, message=said.message)
            errors[f"{n}-{name}"] = FieldError(f"{n}-{name}", message, own.message)
    return errors


class ContactPages(AdminPages):
    path = "/admin/contacts"

    def _page(
        self,
        ctx: Ctx,
        lang: str,
        rows: Sequence[Row] | None = None,
        status: int = 200,
        errors: dict[str, FieldError] | None = None,
        saved: bool = False,
    ) -> Template:
        saved_rows = [
            {f: str(c.get(f, "")) for f in CONTACT_FIELDS}
            for c in map(contact_json, ctx.catalog.emergency_contacts)
        ]
        shown = saved_rows if rows is None else list(rows)
        failed = FormState("contacts", values_of(shown), errors or {})
        return page(
            "contacts",
            ctx,
            status,
            lang=lang,
            contacts=saved_rows,
            rows=shown,
            fields=CONTACT_FIELDS,
            unsaved=rows is not None,
            saved=saved,
            form=failed,
            forms=Forms(failed if errors else None, f"0-{CONTACT_FIELDS[0]}"),
        )

    @get("/")
    async def contacts(self, ctx: Ctx, saved: bool = False, lang: str | None = None) -> Template:
        return self._page(ctx, pick_lang(lang), saved=saved)

    @post("/")
    async def replace_contacts(
        self, request: Req, ctx: Ctx, lang: str | None = None
    ) -> Template | Redirect:
        form, chosen = await request.form(), pick_lang(lang)
        rows, action = rows_of(form), str(form.get("action", "save"))
        if action != "save":
            return self._page(ctx, chosen, rearranged(rows, action))
        rows = [r for r in rows if not blank(r)]
        try:
            given = {"contacts": rows}
            await do_replace_contacts(admin_ops(request), read_input(ContactsReplace, given))
        except AppError as exc:
            errors = line_errors(rows, chosen)
            if not errors:  # the list as a whole: too many contacts
                said = refusal(exc, ("contacts",), {}, chosen)
                errors = {"": FieldError("", said.message, said.detail)}
            return self._page(ctx, chosen, rows, 400, errors)
        return Redirect(with_lang("/admin/contacts?saved=1", chosen), status_code=303)
