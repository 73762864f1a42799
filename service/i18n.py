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
    },
}


def pick_lang(requested: str | None) -> str:
    return requested if requested in LANGS else "ja"
