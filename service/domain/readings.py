"""How a visitor's page names a desk or a phone line, and which note it shows, in its language.

Names and notes are entered by admins in Japanese, with an English name and note and, for
やさしい日本語 pages, a reading in kana and an easy note. Any of these may be missing. The rules
here decide what a page shows then; the HTTP layer draws the result (furigana, ``lang``), and the
socket sends it both as plain text and in its parts, which the widget draws the same way.

On やさしい日本語 pages no kanji is shown bare: its readers (children, people learning Japanese,
people who find kanji hard) may not read it, and a line they cannot name is a line they cannot
call. So, for a name with kanji:

1. its reading over it (furigana) when an admin gave one;
2. else the English name, marked as English: a proper name in the alphabet can be read aloud,
   asked about and searched for, which a kanji name without reading cannot;
3. else a plain label in kana (「でんわ」 for a line, 「そうだん まどぐち」 for a desk): the number
   beside it is what the reader needs, and the label says what it is.

A note with kanji and no easy note is left out rather than shown in kanji or in English: the
number and the name are enough to call, and a note the reader cannot read only adds noise.
A name or note without kanji is already readable and shows as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.directory import Desk, EmergencyContact, has_han

ENGLISH = "en"
EASY = "ja-easy"
LINE_EASY = "でんわ"
"""A line's name on やさしい日本語 pages when neither its reading nor English name is known."""
DESK_EASY = "そうだん まどぐち"
"""The same for a desk."""


@dataclass(frozen=True, slots=True)
class Shown:
    """A name or note as a page shows it."""

    text: str
    reading: str = ""
    """Kana to show over ``text`` as furigana."""
    lang: str = ""
    """The language of ``text`` when it is not the page's own (``ja`` or ``en``)."""

    @property
    def plain(self) -> str:
        """The words as read, for a place without furigana (a socket's plain text)."""
        return self.reading or self.text


def shown_name(name: str, name_en: str, name_kana: str, lang: str, label: str) -> Shown:
    """``name`` as a page in ``lang`` shows it; ``label`` is the easy page's last resort."""
    if lang == ENGLISH:
        return Shown(name_en) if name_en else Shown(name, lang="ja")
    if lang != EASY or not has_han(name):
        return Shown(name)
    if name_kana:
        return Shown(name, reading=name_kana)
    if name_en:
        return Shown(name_en, lang="en")
    return Shown(label)


def desk_name(desk: Desk, lang: str) -> Shown:
    return shown_name(desk.name, desk.name_en, desk.name_kana, lang, DESK_EASY)


def line_name(contact: EmergencyContact, lang: str) -> Shown:
    return shown_name(contact.name, contact.name_en, contact.name_kana, lang, LINE_EASY)


def line_note(contact: EmergencyContact, lang: str) -> str:
    """The line's note in ``lang``; "" when there is none the page's reader can read."""
    if lang == ENGLISH:
        return contact.note_en
    if lang != EASY:
        return contact.note_ja
    if contact.note_easy:
        return contact.note_easy
    return "" if has_han(contact.note_ja) else contact.note_ja


def needs_reading(name: str, name_kana: str) -> bool:
    """A name the やさしい日本語 pages cannot read: kanji, and no reading given."""
    return has_han(name) and not name_kana
