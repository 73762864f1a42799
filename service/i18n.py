"""UI strings for server-rendered pages: Japanese first, English second."""

from __future__ import annotations

from collections.abc import Mapping

LANGS = ("ja", "en")

TEXT: Mapping[str, Mapping[str, str]] = {
    "ja": {
        "inbox_title": "相談受付",
        "login_title": "ログイン",
        "username": "ユーザー名",
        "password": "パスワード",
        "login": "ログイン",
        "logout": "ログアウト",
        "login_failed": "ユーザー名またはパスワードが違います。",
        "queue": "相談の一覧",
        "queue_empty": "待っている相談はありません。",
        "claim": "対応する",
        "send": "送信",
        "close": "終了",
        "message_placeholder": "メッセージを入力",
        "select_conversation": "左の一覧から相談を選んでください。",
        "demo_title": "デモ：パートナーサイトの例",
        "demo_body": "このページは、パートナー団体のサイトにチャットを埋め込んだ例です。"
        "右下のボタンから相談を始められます。",
        "not_available": "このチャットは現在ご利用いただけません。",
        "chat_title": "相談チャット",
        "needs_js": "このチャットを使うには JavaScript を有効にしてください。",
        "inbox_needs_js": "相談受付の画面には JavaScript が必要です。",
        "signed_in_as": "ログイン中：",
        "conversation": "相談",
        "message_label": "返信",
        "enter_hint": "Enter で送信、Shift+Enter で改行",
        "visitor_typing": "相談者が入力しています…",
        "outcome": "終了の区分",
        "outcome_resolved": "解決・傾聴",
        "outcome_referred_phone": "電話相談につないだ",
        "outcome_referred_in_person": "面接相談につないだ",
        "outcome_referred_agency": "他機関を紹介した",
        "outcome_visitor_left": "相談者が退出した",
        "outcome_no_reply": "応答がなかった",
    },
    "en": {
        "inbox_title": "Consultations",
        "login_title": "Log in",
        "username": "Username",
        "password": "Password",
        "login": "Log in",
        "logout": "Log out",
        "login_failed": "Wrong username or password.",
        "queue": "Conversations",
        "queue_empty": "Nobody is waiting.",
        "claim": "Take",
        "send": "Send",
        "close": "Close",
        "message_placeholder": "Type a message",
        "select_conversation": "Choose a conversation from the list.",
        "demo_title": "Demo: a partner site",
        "demo_body": "This page embeds the chat as a partner organisation's site would. "
        "Start a consultation with the button at the bottom right.",
        "not_available": "This chat is not available.",
        "chat_title": "Consultation chat",
        "needs_js": "Please turn on JavaScript to use this chat.",
        "inbox_needs_js": "The inbox needs JavaScript.",
        "signed_in_as": "Signed in as ",
        "conversation": "Conversation",
        "message_label": "Reply",
        "enter_hint": "Enter sends, Shift+Enter starts a new line",
        "visitor_typing": "The visitor is typing…",
        "outcome": "Outcome",
        "outcome_resolved": "Resolved / listened",
        "outcome_referred_phone": "Referred to phone counseling",
        "outcome_referred_in_person": "Referred to face-to-face counseling",
        "outcome_referred_agency": "Referred to another agency",
        "outcome_visitor_left": "Visitor left",
        "outcome_no_reply": "No reply",
    },
}


def pick_lang(requested: str | None) -> str:
    return requested if requested in LANGS else "ja"
