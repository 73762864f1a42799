"""Names for the keys and codes staff would otherwise see: roles, languages, outcomes, statuses,
system events, sources and audit actions, Japanese first, English second. Pure: names that
admins set up (desks, partners, campaigns, topic tags) are passed in by the caller.

An unknown key is shown as it is, so that nothing is ever hidden from staff.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from service.domain.jst import day_text, month_text, parse

Names = Mapping[str, Mapping[str, str]]

ROLES: Names = {
    "ja": {"counselor": "相談員", "supervisor": "スーパーバイザー", "admin": "管理者"},
    "en": {"counselor": "Counselor", "supervisor": "Supervisor", "admin": "Administrator"},
}

# The visitor's language, as a counselor needs to know it.
LANGUAGES: Names = {
    "ja": {
        "ja": "日本語",
        "ja-easy": "やさしい日本語",
        "en": "英語",
        "zh": "中国語",
        "ko": "韓国語",
        "vi": "ベトナム語",
    },
    "en": {
        "ja": "Japanese",
        "ja-easy": "Easy Japanese",
        "en": "English",
        "zh": "Chinese",
        "ko": "Korean",
        "vi": "Vietnamese",
    },
}

OUTCOMES: Names = {
    "ja": {
        "resolved": "解決・傾聴",
        "referred_phone": "電話相談につないだ",
        "referred_in_person": "面接相談につないだ",
        "referred_agency": "他機関を紹介した",
        "visitor_left": "相談者が退出した",
        "no_reply": "応答がなかった",
        "open": "対応中・待機中",
    },
    "en": {
        "resolved": "Resolved / listened",
        "referred_phone": "Referred to phone counseling",
        "referred_in_person": "Referred to face-to-face counseling",
        "referred_agency": "Referred to another agency",
        "visitor_left": "Visitor left",
        "no_reply": "No reply",
        "open": "Active or waiting",
    },
}

# System messages in a conversation are codes; staff read them as sentences.
EVENTS: Names = {
    "ja": {
        "counselor_joined": "相談員が入室しました。",
        "conversation_closed": "相談を終了しました。",
        "visitor_left": "相談者が退出しました。",
        "visitor_quick_exit": "相談者が緊急退出しました。",
        "counselor_changed": "別の相談員に引き継ぎました。",
        "script_ended": "練習の台本はここまでです。",
    },
    "en": {
        "counselor_joined": "A counselor joined.",
        "conversation_closed": "The conversation was closed.",
        "visitor_left": "The visitor left.",
        "visitor_quick_exit": "The visitor left by quick exit.",
        "counselor_changed": "Handed to another counselor.",
        "script_ended": "The practice script has ended.",
    },
}

AUTHORS: Names = {
    "ja": {"visitor": "相談者", "counselor": "相談員", "system": "お知らせ"},
    "en": {"visitor": "Visitor", "counselor": "Counselor", "system": "Notice"},
}

NOTE_KINDS: Names = {
    "ja": {"note": "メモ", "transfer": "引き継ぎメモ", "supervisor": "スーパーバイザーから"},
    "en": {"note": "Note", "transfer": "Transfer note", "supervisor": "From the supervisor"},
}

AUDIT_ACTIONS: Names = {
    "ja": {
        "desk.create": "窓口を追加",
        "desk.update": "窓口を変更",
        "partner.create": "連携団体を追加",
        "partner.update": "連携団体を変更",
        "campaign.create": "キャンペーンを追加",
        "campaign.update": "キャンペーンを変更",
        "user.create": "アカウントを追加",
        "user.update": "アカウントを変更",
        "user.password_reset": "パスワードを再発行",
        "user.password_change": "自分のパスワードを変更",
        "user.unlock": "ログイン制限を解除",
        "canned.create": "定型文を追加",
        "canned.update": "定型文を変更",
        "canned.delete": "定型文を削除",
        "topic_tag.create": "相談分類を追加",
        "topic_tag.update": "相談分類を変更",
        "emergency_contacts.replace": "緊急連絡先を変更",
        "conversation.open": "終了した相談を開いた",
        "training.transcript.open": "練習の記録を開いた",
        "training.scenario.create": "練習シナリオを追加",
        "training.scenario.update": "練習シナリオを変更",
        "training.rubric.create": "評価項目を追加",
        "training.rubric.update": "評価項目を変更",
        "report.export": "報告を CSV で出力",
        "retention.purge": "保存期間を過ぎた記録を消去",
        "login": "ログイン",
        "login.failed": "ログインに失敗",
    },
    "en": {
        "desk.create": "Desk added",
        "desk.update": "Desk changed",
        "partner.create": "Partner added",
        "partner.update": "Partner changed",
        "campaign.create": "Campaign added",
        "campaign.update": "Campaign changed",
        "user.create": "Account added",
        "user.update": "Account changed",
        "user.password_reset": "Password reset",
        "user.password_change": "Own password changed",
        "user.unlock": "Login delay lifted",
        "canned.create": "Canned response added",
        "canned.update": "Canned response changed",
        "canned.delete": "Canned response deleted",
        "topic_tag.create": "Topic added",
        "topic_tag.update": "Topic changed",
        "emergency_contacts.replace": "Emergency contacts changed",
        "conversation.open": "Closed conversation opened",
        "training.transcript.open": "Practice transcript opened",
        "training.scenario.create": "Practice scenario added",
        "training.scenario.update": "Practice scenario changed",
        "training.rubric.create": "Rubric item added",
        "training.rubric.update": "Rubric item changed",
        "report.export": "Report exported as CSV",
        "retention.purge": "Expired records erased",
        "login": "Logged in",
        "login.failed": "Failed login",
    },
}

# What an audit target names, by its kind (the part before ":").
TARGET_KINDS: Names = {
    "ja": {
        "desk": "窓口",
        "partner": "連携団体",
        "campaign": "キャンペーン",
        "user": "アカウント",
        "canned": "定型文",
        "topic_tag": "相談分類",
        "conversation": "相談",
        "report": "報告",
        "emergency_contacts": "緊急連絡先",
        "conversations": "相談の記録",
        "scenario": "練習シナリオ",
        "rubric": "評価項目",
    },
    "en": {
        "desk": "Desk",
        "partner": "Partner",
        "campaign": "Campaign",
        "user": "Account",
        "canned": "Canned response",
        "topic_tag": "Topic",
        "conversation": "Conversation",
        "report": "Report",
        "emergency_contacts": "Emergency contacts",
        "conversations": "Conversation records",
        "scenario": "Practice scenario",
        "rubric": "Rubric item",
    },
}

# The fields an audit entry's detail may name.
FIELDS: Names = {
    "ja": {
        "name": "名前",
        "name_en": "英語の名前",
        "name_kana": "よみがな",
        "description": "説明",
        "phones": "電話",
        "hours": "受付時間",
        "closures": "休業日",
        "origins": "許可するオリジン",
        "exit_url": "緊急退出の移動先",
        "desk": "窓口",
        "desks": "担当窓口",
        "partner": "連携団体",
        "lang": "言語",
        "enabled": "有効",
        "active": "有効",
        "role": "役割",
        "display_name": "表示名",
        "title": "題名",
        "body": "本文",
        "label_ja": "日本語",
        "label_en": "English",
        "purpose": "理由",
        "transcript": "やりとりを表示",
        "from": "開始月",
        "to": "終了月",
        "contacts": "連絡先",
        "count": "件数",
        "closed_before": "この日時より前に終了",
        "conversations": "相談",
        "messages": "メッセージ",
        "cutoff": "基準日時",
        "fields": "変更した項目",
        "label": "項目名",
        "topic": "話題",
        "persona": "相談者の人物像",
        "situation": "状況",
        "lines": "相談者の発言",
        "focus": "練習のねらい",
        "ends_with_exit": "最後に緊急退出",
        "archived": "アーカイブ",
        "hint": "説明",
        "position": "表示順",
    },
    "en": {
        "name": "Name",
        "name_en": "English name",
        "name_kana": "Reading",
        "description": "Description",
        "phones": "Phones",
        "hours": "Hours",
        "closures": "Closed days",
        "origins": "Allowed origins",
        "exit_url": "Quick exit URL",
        "desk": "Desk",
        "desks": "Desks",
        "partner": "Partner",
        "lang": "Language",
        "enabled": "Enabled",
        "active": "Active",
        "role": "Role",
        "display_name": "Display name",
        "title": "Title",
        "body": "Text",
        "label_ja": "Japanese",
        "label_en": "English",
        "purpose": "Purpose",
        "transcript": "Transcript shown",
        "from": "From",
        "to": "To",
        "contacts": "Contacts",
        "count": "Count",
        "closed_before": "Closed before",
        "conversations": "Conversations",
        "messages": "Messages",
        "cutoff": "Cut-off",
        "fields": "Changed",
        "label": "Item",
        "topic": "Topic",
        "persona": "Persona",
        "situation": "Situation",
        "lines": "Visitor's lines",
        "focus": "What to practise",
        "ends_with_exit": "Ends by quick exit",
        "archived": "Archived",
        "hint": "Description",
        "position": "Order",
    },
}

PURPOSES: Names = {
    "ja": {
        "handoff": "引き継ぎ（電話・面接相談）",
        "supervision": "スーパービジョン",
        "follow_up": "継続相談の準備",
        "records": "記録の確認",
        "review": "練習のレビュー",
        "feedback": "練習のフィードバック",
    },
    "en": {
        "handoff": "Handoff (phone / face-to-face)",
        "supervision": "Supervision",
        "follow_up": "Preparing a follow-up",
        "records": "Checking records",
        "review": "Practice review",
        "feedback": "Practice feedback",
    },
}

YES_NO: Names = {"ja": {"yes": "はい", "no": "いいえ"}, "en": {"yes": "yes", "no": "no"}}
ALL_DESKS: Mapping[str, str] = {"ja": "すべての窓口", "en": "Every desk"}
DIRECT: Mapping[str, str] = {"ja": "直接・区ホームページ", "en": "Direct / ward website"}
SOURCE_KINDS: Names = {
    "ja": {"partner": "連携団体", "campaign": "周知キャンペーン"},
    "en": {"partner": "Partner", "campaign": "Campaign"},
}
UNKNOWN_ACTOR: Mapping[str, str] = {"ja": "（不明なユーザー名）", "en": "(unknown username)"}
CLI_ACTOR: Mapping[str, str] = {"ja": "コマンドライン", "en": "Command line"}
SYSTEM_ACTOR: Mapping[str, str] = {"ja": "システム", "en": "System"}


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "ja"


def name_of(table: Names, key: str | None, lang: str = "ja") -> str:
    """The name of ``key`` in ``table``; the key itself if it has none."""
    if key is None:
        return ""
    return table[_lang(lang)].get(key, key)


def role(key: str, lang: str = "ja") -> str:
    return name_of(ROLES, key, lang)


def language(key: str, lang: str = "ja") -> str:
    return name_of(LANGUAGES, key, lang)


def outcome(key: str | None, lang: str = "ja") -> str:
    return name_of(OUTCOMES, key, lang)


def event(code: str, lang: str = "ja") -> str:
    return name_of(EVENTS, code, lang)


def audit_action(action: str, lang: str = "ja") -> str:
    return name_of(AUDIT_ACTIONS, action, lang)


def source(
    key: str, partners: Mapping[str, str], campaigns: Mapping[str, str], lang: str = "ja"
) -> str:
    """``direct``, ``partner:KEY`` or ``campaign:CODE`` with the names admins gave them."""
    words, name = source_parts(key, lang)
    kind = key.partition(":")[0]
    names = partners if kind == "partner" else campaigns if kind == "campaign" else {}
    return f"{words}{names.get(name, name)}"


def source_parts(key: str, lang: str = "ja") -> tuple[str, str]:
    """A source as words and the key of the partner or campaign named after them, for a page
    that marks that name's language: ``("連携団体：", "library")``, ``("Partner: ", "library")``;
    ``direct`` is words alone, an unknown source its key alone."""
    if key == "direct":
        return DIRECT[_lang(lang)], ""
    kind, _, name = key.partition(":")
    if kind in SOURCE_KINDS["ja"]:
        return f"{SOURCE_KINDS[_lang(lang)][kind]}{colon(lang)}", name
    return "", key


def actor(name: str, lang: str = "ja") -> str:
    if name == "cli":
        return CLI_ACTOR[_lang(lang)]
    if name == "system":
        return SYSTEM_ACTOR[_lang(lang)]
    if name == "unknown":
        return UNKNOWN_ACTOR[_lang(lang)]
    return name


# Actions whose early entries named their target by a bare id, before targets carried a kind.
BARE_TARGET_KINDS = {"training.scenario.": "scenario", "training.rubric.": "rubric"}


def audit_target(
    target: str, names: Mapping[str, Mapping[str, str]], lang: str = "ja", action: str = ""
) -> str:
    """``desk:general`` → ``窓口：一般相談``; ``names`` maps a kind to its keys' names."""
    kind, sep, key = target.partition(":")
    bare_kind = next((k for a, k in BARE_TARGET_KINDS.items() if action.startswith(a)), None)
    if not sep and bare_kind is not None:
        kind, sep, key = bare_kind, ":", target
    if not sep:
        if kind in TARGET_KINDS["ja"]:
            return name_of(TARGET_KINDS, kind, lang)
        # A login names the account by its username.
        return names.get("user", {}).get(target, target)
    if kind == "report":
        first, _, last = key.partition("..")
        between = " to " if _lang(lang) == "en" else "〜"
        key = f"{period(first, lang)}{between}{period(last, lang)}"
    label = names.get(kind, {}).get(key, key)
    return f"{name_of(TARGET_KINDS, kind, lang)}{colon(lang)}{label}"


def comma(lang: str) -> str:
    """Between the items of a list."""
    return ", " if _lang(lang) == "en" else "、"


def colon(lang: str) -> str:
    """Between a kind and its name: full-width in Japanese, ``: `` in English."""
    return ": " if _lang(lang) == "en" else "："


def period(text: str, lang: str = "ja") -> str:
    """A report's first or last month (``2026-04`` or ``2026-04-01``) as words: ``2026年4月`` /
    ``Apr 2026``; anything else as it is."""
    found = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2})?", text)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        return text
    return month_text(int(found.group(1)), int(found.group(2)), _lang(lang))


def detail_value(field: str, value: Any, names: Mapping[str, Mapping[str, str]], lang: str) -> str:
    """One field of an audit entry's detail as words."""
    if isinstance(value, bool):
        return name_of(YES_NO, "yes" if value else "no", lang)
    if field == "desks" and value is None:
        return ALL_DESKS[_lang(lang)]
    if value is None:
        return "—"
    if field == "role":
        return role(str(value), lang)
    if field == "closed_before":
        moment = parse(str(value))
        if moment is not None:
            return day_text(moment, lang)
    if value == "(changed)":
        return "（変更あり）" if _lang(lang) == "ja" else "(changed)"
    if field == "lang":
        return language(str(value), lang)
    if field == "purpose":
        return name_of(PURPOSES, str(value), lang)
    if field == "fields" and isinstance(value, list):
        return comma(lang).join(name_of(FIELDS, str(v), lang) for v in value)
    if field in ("desk", "desks", "partner"):
        table = names.get("partner" if field == "partner" else "desk", {})
        if value == "all":
            return ALL_DESKS[_lang(lang)]
        if isinstance(value, list):
            return comma(lang).join(table.get(str(v), str(v)) for v in value)
        return table.get(str(value), str(value))
    if isinstance(value, list):
        return comma(lang).join(str(v) for v in value)
    if isinstance(value, dict):
        return comma(lang).join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def audit_detail(
    detail: Mapping[str, Any], names: Mapping[str, Mapping[str, str]], lang: str = "ja"
) -> list[tuple[str, str]]:
    """An audit entry's detail as (field name, value) pairs, in the order it was written."""
    return [
        (name_of(FIELDS, field, lang), detail_value(field, value, names, lang))
        for field, value in detail.items()
        if value not in ("", [])
    ]
