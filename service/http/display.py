"""What staff pages show instead of keys, codes and UTC times: Jinja filters and one global.

Each filter reads the page's ``lang`` ("ja" unless the page says "en") from the template
context, and names admins gave (desks, partners, campaigns, accounts) from the live catalog;
the rules themselves are pure (``domain/jst.py``, ``domain/labels.py``).

- ``moment | jst``: ``<time datetime="UTC ISO" title="Japan time to the second">21:00</time>``;
  ``moment | jst_text``: the readable text alone;
- ``key | desk_name``, ``partner_name``, ``campaign_name``, ``source_name``, ``role_name``,
  ``lang_name``, ``outcome_name``, ``event_text`` (a system message), ``author_name``,
  ``note_kind``, ``actor_name``, ``audit_action``, ``audit_target``; ``detail | audit_detail``
  (a list of (field, value) pairs, never JSON);
- ``staff_names()``: the names by kind and key in the page's language, for the inbox's script;
- ``text | ja_marked``: typed text, marked ``lang="ja"`` on an English page when Japanese;
- ``admin_words(lang)``: the admin pages' words; ``link(path)``: a link in the page's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from service import clock
from service.admin_i18n import admin_text
from service.context import Ctx
from service.domain import jst, labels
from service.domain.directory import has_japanese, staff_desk_name
from service.domain.readings import needs_reading


def _lang(context: Context) -> str:
    return "en" if context.get("lang") == "en" else "ja"


@pass_context
def japanese_marked(context: Context, text: object) -> Markup:
    """Text that staff typed, marked ``lang="ja"`` on an English page when it is Japanese, so
    that a screen reader set to English does not spell it out."""
    shown = "" if text is None else str(text)
    if _lang(context) == "en" and has_japanese(shown):
        return Markup('<span lang="ja">{}</span>').format(shown)
    return escape(shown)


@pass_context
def link(context: Context, path: str) -> str:
    """``path`` in the page's language: an English page's links and forms stay English."""
    if _lang(context) != "en":
        return path
    return f"{path}{'&' if '?' in path else '?'}lang=en"


class Display:
    """The filters of one app, bound to its catalog."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def names(self, lang: str = "ja") -> dict[str, dict[str, str]]:
        """Names by kind and key; a desk by its English name on an English page where it has
        one, as the visitor's pages and the reports name it."""
        catalog = self.ctx.catalog
        return {
            "desk": {k: staff_desk_name(d, lang) for k, d in catalog.desks.items()},
            "partner": {k: p.name for k, p in catalog.partners.items()},
            "campaign": {k: c.name for k, c in catalog.campaigns.items()},
            "user": {u.username: u.display_name for u in catalog.accounts.values()},
        }

    def install(self, environment: Environment) -> None:
        environment.globals["staff_names"] = self.page_names
        environment.globals["admin_words"] = admin_text
        environment.globals["link"] = link
        environment.filters.update(
            needs_reading=needs_reading,
            ja_marked=japanese_marked,
            jst=self.time_element,
            jst_text=self.time_text,
            desk_name=self.desk_name,
            partner_name=self.partner_name,
            campaign_name=self.campaign_name,
            source_name=self.source_name,
            role_name=self.table_filter(labels.ROLES),
            lang_name=self.table_filter(labels.LANGUAGES),
            outcome_name=self.table_filter(labels.OUTCOMES),
            event_text=self.table_filter(labels.EVENTS),
            author_name=self.table_filter(labels.AUTHORS),
            note_kind=self.table_filter(labels.NOTE_KINDS),
            audit_action=self.table_filter(labels.AUDIT_ACTIONS),
            actor_name=self.actor_name,
            audit_target=self.audit_target,
            audit_detail=self.audit_detail,
        )

    @pass_context
    def page_names(self, context: Context) -> dict[str, dict[str, str]]:
        return self.names(_lang(context))

    @staticmethod
    def table_filter(table: labels.Names) -> Any:
        @pass_context
        def name(context: Context, key: str | None) -> str:
            return labels.name_of(table, key, _lang(context))

        return name

    @pass_context
    def time_text(self, context: Context, moment: str | None) -> str:
        return jst.human(moment, clock.utcnow(), _lang(context))

    @pass_context
    def time_element(self, context: Context, moment: str | None) -> Markup:
        if not moment or jst.parse(moment) is None:
            return Markup("")
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            moment, jst.full(moment), jst.human(moment, clock.utcnow(), _lang(context))
        )

    @pass_context
    def desk_name(self, context: Context, key: str | None) -> str:
        desk = self.ctx.catalog.desks.get(key or "")
        if desk is None:
            return key or ""
        return staff_desk_name(desk, _lang(context))

    def partner_name(self, key: str | None) -> str:
        partner = self.ctx.catalog.partners.get(key or "")
        return partner.name if partner else key or ""

    def campaign_name(self, code: str | None) -> str:
        campaign = self.ctx.catalog.campaigns.get(code or "")
        return campaign.name if campaign else code or ""

    @pass_context
    def source_name(self, context: Context, key: str) -> str:
        names = self.names()
        return labels.source(key, names["partner"], names["campaign"], _lang(context))

    @pass_context
    def actor_name(self, context: Context, name: str) -> str:
        shown = labels.actor(name, _lang(context))
        display = self.names()["user"].get(name)
        if not display or display == name:
            return shown
        return f"{display} ({name})" if _lang(context) == "en" else f"{display}（{name}）"

    def _target_names(self, context: Context) -> Mapping[str, Mapping[str, str]]:
        names: dict[str, Mapping[str, str]] = dict(self.names(_lang(context)))
        names.update(context.get("audit_names") or {})
        return names

    @pass_context
    def audit_target(self, context: Context, target: str, action: str = "") -> str:
        names = self._target_names(context)
        return labels.audit_target(target, names, _lang(context), action)

    @pass_context
    def audit_detail(self, context: Context, detail: Mapping[str, Any]) -> Markup:
        lang = _lang(context)
        pairs = labels.audit_detail(detail, self._target_names(context), lang)
        between, colon = ("; ", ": ") if lang == "en" else ("、", "：")
        return escape(between).join(
            Markup("{}{}{}").format(escape(field), colon, escape(value)) for field, value in pairs
        )
