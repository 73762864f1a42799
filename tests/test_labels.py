"""Names for keys and codes on staff pages: never the key where a name is known."""

from __future__ import annotations

from service.domain import labels

NAMES = {
    "desk": {"general": "一般相談", "legal": "法律相談"},
    "partner": {"library": "区立図書館"},
    "campaign": {"spring": "春のポスター"},
    "user": {"hana": "花子"},
}


def test_roles_languages_outcomes_and_events() -> None:
    assert [labels.role(r) for r in ("counselor", "supervisor", "admin")] == [
        "相談員",
        "スーパーバイザー",
        "管理者",
    ]
    assert labels.language("ja-easy") == "やさしい日本語"
    assert labels.language("ja-easy", "en") == "Easy Japanese"
    assert labels.outcome("referred_phone") == "電話相談につないだ"
    assert labels.outcome("open") == "対応中・待機中"
    assert labels.event("counselor_joined") == "相談員が入室しました。"
    # Unknown keys are shown, never hidden.
    assert labels.language("tl") == "tl"


def test_sources_by_name() -> None:
    partners, campaigns = NAMES["partner"], NAMES["campaign"]
    assert labels.source("direct", partners, campaigns) == "直接・区ホームページ"
    assert labels.source("partner:library", partners, campaigns) == "連携団体：区立図書館"
    assert labels.source("campaign:spring", partners, campaigns, "en") == "Campaign: 春のポスター"
    assert labels.source("partner:gone", partners, campaigns) == "連携団体：gone"


def test_audit_entries_in_words() -> None:
    assert labels.audit_action("desk.update") == "窓口を変更"
    assert labels.audit_target("desk:legal", NAMES) == "窓口：法律相談"
    assert labels.audit_target("report:2026-04..2027-03", NAMES) == "報告：2026年4月〜2027年3月"
    assert labels.audit_target("report:2026-04..2027-03", NAMES, "en").endswith(
        ": Apr 2026 to Mar 2027"
    )
    assert labels.audit_target("desk:legal", NAMES, "en").endswith(": 法律相談")
    assert labels.audit_target("hana", NAMES) == "花子"
    training = {"scenario": {"3": "はじめての相談"}, "rubric": {"2": "安全確認"}}
    assert labels.audit_target("scenario:3", training) == "練習シナリオ：はじめての相談"
    assert labels.audit_target("rubric:2", training, "en") == "Rubric item: 安全確認"
    # Entries written before training targets carried their kind name it by the action.
    assert labels.audit_target("3", training, action="training.scenario.update") == (
        "練習シナリオ：はじめての相談"
    )
    assert labels.audit_detail({"fields": ["lines", "focus"]}, {}) == [
        ("変更した項目", "相談者の発言、練習のねらい")
    ]
    assert labels.actor("cli") == "コマンドライン"
    detail = {
        "name": "区立図書館",
        "origins": [],
        "desk": "general",
        "lang": "ja-easy",
        "enabled": True,
        "desks": None,
        "role": "supervisor",
        "closed_before": "2026-01-31T15:00:00.000Z",
    }
    assert labels.audit_detail(detail, NAMES) == [
        ("名前", "区立図書館"),
        ("窓口", "一般相談"),
        ("言語", "やさしい日本語"),
        ("有効", "はい"),
        ("担当窓口", "すべての窓口"),
        ("役割", "スーパーバイザー"),
        ("この日時より前に終了", "2026年2月1日（日）"),
    ]
