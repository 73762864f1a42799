"""What admins prepare for counselors: canned responses and topic tags."""

from __future__ import annotations

from typing import Annotated

import msgspec

from service.actions.admin import Admin, changes, given
from service.domain.checks import check_canned_fields, check_key, check_tag_fields
from service.domain.replies import CannedResponse, TopicTag

Body = Annotated[str, msgspec.Meta(max_length=4000)]


class CannedCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    body: Body
    desk: str | None = None
    """Left out, null or ``""``: offered on every desk."""


class CannedUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: str | None = None
    body: Body | None = None
    desk: str | None = None
    """``""``: every desk."""


class TagCreate(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    label_ja: str
    label_en: str = ""


class TagUpdate(msgspec.Struct, forbid_unknown_fields=True):
    label_ja: str | None = None
    label_en: str | None = None
    enabled: bool | None = None


async def do_add_canned(admin: Admin, data: CannedCreate) -> CannedResponse:
    fields = check_canned_fields(title=data.title, body=data.body, desk=data.desk or "")
    return await admin.store.insert_canned_response(
        admin.actor, fields["desk"], fields["title"], fields["body"]
    )


async def do_update_canned(admin: Admin, canned_id: int, data: CannedUpdate) -> CannedResponse:
    fields = changes(check_canned_fields(**given(data)))
    return await admin.store.update_canned_response(admin.actor, canned_id, fields)


async def do_delete_canned(admin: Admin, canned_id: int) -> None:
    await admin.store.delete_canned_response(admin.actor, canned_id)


async def do_add_tag(admin: Admin, data: TagCreate) -> TopicTag:
    fields = check_tag_fields(label_ja=data.label_ja, label_en=data.label_en)
    return await admin.store.insert_topic_tag(
        admin.actor, check_key(data.key), fields["label_ja"], fields["label_en"]
    )


async def do_update_tag(admin: Admin, key: str, data: TagUpdate) -> TopicTag:
    fields = changes(check_tag_fields(**given(data)))
    return await admin.store.update_topic_tag(admin.actor, key, fields)
