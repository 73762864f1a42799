"""What the reports page and its CSV for people call the keys of a report, in the page's language.

Keys become words (``untagged``, ``ja-easy``, ``open``) from the catalogues, and names that admins
typed: a desk by its English name on an English page when it has one, a topic tag by its English
label; otherwise, and always for partners and campaigns (which have Japanese names only), the
Japanese name, marked ``lang="ja"`` on an English page so that a screen reader reads it as
Japanese.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

from service.catalog import Catalog
from service.domain import labels, readings
from service.domain.replies import TopicTag
from service.domain.reports import UNTAGGED
from service.report_i18n import report_lang, report_text


@dataclass(frozen=True, slots=True)
class Name:
    """Words in the page's language, then a name as an admin typed it, in ``lang`` when that
    differs from the page's: ``Partner: `` + ``区立図書館`` (``ja``)."""

    words: str = ""
    name: str = ""
    lang: str = ""

    def __str__(self) -> str:
        return f"{self.words}{self.name}"

    def __html__(self) -> Markup:
        # Jinja calls this for {{ name }}: the name is escaped and, if need be, marked.
        if not self.lang:
            return escape(str(self))
        return Markup('{}<span lang="{}">{}</span>').format(self.words, self.lang, self.name)


def typed(name: str, lang: str, words: str = "") -> Name:
    """A name admins gave in Japanese only, on a page in ``lang``."""
    shown = readings.shown_name(name, "", "", lang, name)
    return Name(words, shown.text, shown.lang)


class Labels:
    """Names for the keys of a report, from the catalog and the topic tags, in ``lang``."""

    def __init__(self, catalog: Catalog, tags: Iterable[TopicTag], lang: str) -> None:
        self.catalog, self.lang = catalog, report_lang(lang)
        self.tags = {t.key: t for t in tags}

    def of(self, dimension: str, key: str) -> Name:
        if dimension == "desk":
            desk = self.catalog.desks.get(key)
            if desk is None:
                return Name(name=key)
            shown = readings.desk_name(desk, self.lang)
            return Name(name=shown.text, lang=shown.lang)
        if dimension == "source":
            return self.source(key)
        if dimension == "topic":
            return self.topic(key)
        if dimension == "language":
            return Name(labels.language(key, self.lang))
        if dimension == "outcome":
            return Name(labels.outcome(key, self.lang))
        return Name(name=key)

    def source(self, key: str) -> Name:
        words, named = labels.source_parts(key, self.lang)
        if not named:
            return Name(words)
        kind = key.partition(":")[0]
        found = (self.catalog.partners if kind == "partner" else self.catalog.campaigns).get(named)
        return typed(found.name, self.lang, words) if found else Name(words, named)

    def topic(self, key: str) -> Name:
        if key == UNTAGGED:
            return Name(report_text(self.lang)["untagged"])
        tag = self.tags.get(key)
        if tag is None:
            return Name(name=key)
        if self.lang == "en" and tag.label_en:
            return Name(name=tag.label_en)
        return typed(tag.label_ja, self.lang)

    def scope(self, desk_ids: Iterable[int] | None) -> list[Name]:
        """The desks a report covers; practice desks are never reported on, so never named."""
        if desk_ids is None:
            return [Name(report_text(self.lang)["all_desks"])]
        wanted = set(desk_ids)
        return [
            self.of("desk", d.key)
            for d in self.catalog.desks.values()
            if d.id in wanted and not d.practice
        ]
