"""The reports page and its CSV export: consultations per month against the target,
where visitors came from, and how well they were served. Supervisors and admins only.

Aggregates only: the store hands over times, keys and survey numbers (``db/reports.py``), and
every label here comes from what admins set up (desks, partners, campaigns, topic tags). A
supervisor of some desks sees those desks' figures; an admin, and a supervisor of every desk,
the whole service's. Every CSV download is written to the audit log before it is read, so no
export goes unrecorded.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Controller, Response, get
from litestar.response import Template

from service.clock import iso, utcnow
from service.context import Ctx
from service.domain import jst, labels
from service.domain.accounts import Role, User
from service.domain.jst import month_text
from service.domain.reports import (
    TOKYO,
    UNTAGGED,
    Figures,
    Month,
    Report,
    Row,
    build_report,
    check_range,
    csv_rows,
    utc_bounds,
)
from service.errors import AppError
from service.http.report_charts import heat_level, month_chart, share_width
from service.http.staff_pages import NO_STORE, STAFF_EXCEPTIONS, Req, actor_of, staff_of, staff_only

REPORTING_ROLES: frozenset[Role] = frozenset({"supervisor", "admin"})
WEEKDAYS = ("月", "火", "水", "木", "金", "土", "日")
# A printed report keeps its date: its "made at" always shows the day, never the time alone.
NEVER_TODAY = datetime(1970, 1, 1, tzinfo=UTC)
DIMENSION_TITLES = {
    "desk": "窓口別",
    "source": "経路別（どこから相談に来たか）",
    "topic": "相談内容別（相談分類）",
    "language": "言語別",
    "outcome": "対応結果別",
}


def desk_scope(user: User) -> list[int] | None:
    """The desks whose figures ``user`` may see; None: all of them."""
    if user.role == "admin" or user.desk_ids is None:
        return None
    return sorted(user.desk_ids)


async def load_report(ctx: Ctx, user: User, first: Month, last: Month) -> Report:
    since, until = utc_bounds(first, last)
    # A day's margin each side: SQL compares stored text, the domain decides each Tokyo month.
    margin = timedelta(days=1)
    items = await ctx.store.list_consultations(
        iso(since - margin), iso(until + margin), desk_scope(user)
    )
    return build_report(items, first, last)


def seconds_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds}秒"
    if seconds < 3600:
        return f"{seconds // 60}分{seconds % 60:02d}秒"
    return f"{seconds // 3600}時間{seconds % 3600 // 60:02d}分"


def share_text(count: int, total: int) -> str:
    return "—" if total <= 0 else f"{math.floor(100 * count / total + 0.5)}%"


class Labels:
    """Names for the keys of a report, from the catalog and the topic tags."""

    def __init__(self, ctx: Ctx, tags: dict[str, str]) -> None:
        self.ctx, self.tags = ctx, tags

    def of(self, dimension: str, key: str) -> str:
        catalog = self.ctx.catalog
        if dimension == "desk":
            desk = catalog.desks.get(key)
            return desk.name if desk else key
        if dimension == "source":
            partners = {k: p.name for k, p in catalog.partners.items()}
            campaigns = {k: c.name for k, c in catalog.campaigns.items()}
            return labels.source(key, partners, campaigns)
        if dimension == "topic":
            return "未分類" if key == UNTAGGED else self.tags.get(key, key)
        if dimension == "language":
            return labels.language(key)
        if dimension == "outcome":
            return labels.outcome(key)
        return key


def figures_row(label: str, key: str, f: Figures, total: int) -> dict[str, Any]:
    return {
        "label": label,
        "key": key,
        "count": f.consultations,
        "share": share_text(f.consultations, total),
        "bar": share_width(f.consultations, total),
        "reply_median": seconds_text(f.first_reply_median_s),
        "reply_p90": seconds_text(f.first_reply_p90_s),
        "left_waiting": f.left_waiting,
        "left_share": share_text(f.left_waiting, f.consultations),
        "quick_exits": f.quick_exits,
        "duration": seconds_text(f.duration_median_s),
        "referred": f.referred,
        "closed": f.closed,
        "answered": f.answered,
        "surveys": f.survey_responses,
    }


def page_context(report: Report, target: int, labels: Labels) -> dict[str, Any]:
    totals = report.totals()
    whole = report.overall_of("total")[0].figures
    grid_top = max((n for hours in report.by_hour for n in hours), default=0)
    ratings = whole.ratings
    answered_helpful = whole.helpful_yes + whole.helpful_no
    return {
        "chart": month_chart([(str(r.month), r.figures.consultations) for r in totals], target),
        "months": [_month_row(r, target) for r in totals],
        "months_met": sum(1 for r in totals if r.figures.consultations >= target),
        "whole": figures_row("合計", "all", whole, whole.consultations),
        "dimensions": [
            {
                "name": name,
                "title": title,
                "rows": [
                    figures_row(labels.of(name, r.key), r.key, r.figures, whole.consultations)
                    for r in report.overall_of(name)
                ],
            }
            for name, title in DIMENSION_TITLES.items()
        ],
        "hours": list(range(24)),
        "grid": [
            {
                "day": WEEKDAYS[day],
                "cells": [{"count": n, "level": heat_level(n, grid_top)} for n in hours],
                "total": sum(hours),
            }
            for day, hours in enumerate(report.by_hour)
        ],
        "survey": {
            "responses": whole.survey_responses,
            "closed": whole.closed,
            "rate": share_text(whole.survey_responses, whole.closed),
            "ratings": [
                {
                    "stars": stars,
                    "count": ratings[stars - 1],
                    "share": share_text(ratings[stars - 1], sum(ratings)),
                    "bar": share_width(ratings[stars - 1], sum(ratings)),
                }
                for stars in range(5, 0, -1)
            ],
            "rated": sum(ratings),
            "helpful_yes": whole.helpful_yes,
            "helpful_no": whole.helpful_no,
            "helpful_share": share_text(whole.helpful_yes, answered_helpful),
        },
    }


def _month_row(row: Row, target: int) -> dict[str, Any]:
    f, month = row.figures, row.month
    return {
        **figures_row(str(month), str(month), f, f.consultations),
        "month": str(month),
        # The rows of totals() are per month.
        "month_label": month_text(month.year, month.month) if month else "",
        "met": f.consultations >= target,
        "short": max(target - f.consultations, 0),
    }


def csv_body(report: Report) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(report))
    return out.getvalue().encode("utf-8")


# The export for people (``?format=excel``): the same rows and figures as the machine CSV, with
# Japanese column names and every key by its name.
EXCEL_COLUMNS = (
    "月",
    "区分",
    "項目",
    "相談件数",
    "相談員が応答した件数",
    "初回応答まで・中央値（秒）",
    "初回応答まで・90パーセンタイル（秒）",
    "待機中に離脱",
    "緊急退出",
    "終了した件数",
    "対応時間・中央値（秒）",
    "つないだ・紹介した件数",
    "アンケート回答数",
    "満足度1",
    "満足度2",
    "満足度3",
    "満足度4",
    "満足度5",
    "役に立った（はい）",
    "役に立った（いいえ）",
)
EXCEL_DIMENSIONS = {
    "total": "合計",
    "desk": "窓口",
    "source": "経路",
    "topic": "相談内容",
    "language": "言語",
    "outcome": "対応結果",
}


def spreadsheet_safe(text: str) -> str:
    """A name an admin typed, kept from being read as a formula (OWASP "CSV injection")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def excel_csv_body(report: Report, labels: Labels) -> bytes:
    """UTF-8 with a byte order mark and CRLF line ends: Excel opens it with Japanese intact."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXCEL_COLUMNS)
    for (month, dimension, _key, *values), row in zip(
        csv_rows(report)[1:], report.rows, strict=True
    ):
        name = "合計" if dimension == "total" else labels.of(dimension, row.key)
        when = month_text(row.month.year, row.month.month) if row.month else month
        writer.writerow(
            [when, EXCEL_DIMENSIONS.get(dimension, dimension), spreadsheet_safe(name), *values]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


class ReportPages(Controller):
    path = "/admin"
    include_in_schema = False
    guards = [staff_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    opt = {"roles": REPORTING_ROLES}  # noqa: RUF012
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    @get("/reports")
    async def reports(self, request: Req, ctx: Ctx) -> Template:
        user = staff_of(request)
        query = {k: str(request.query_params.get(k) or "") for k in ("from", "to")}
        context: dict[str, Any] = {
            "lang": "ja",
            "user": user,
            "query": query,
            "target": ctx.settings.report_monthly_target,
            "scope": self._scope_text(ctx, user),
            "made_at": jst.human(utcnow(), NEVER_TODAY),
        }
        try:
            first, last = check_range(query["from"], query["to"], _today())
        except AppError as exc:
            context["error"] = f"期間を読めません（{exc.message}）。"
            return Template(
                "admin/reports.html", context=context, status_code=400, headers=NO_STORE
            )
        report = await load_report(ctx, user, first, last)
        tags = {t.key: t.label_ja for t in await ctx.store.list_topic_tags()}
        context.update(
            first=str(first),
            last=str(last),
            first_label=month_text(first.year, first.month),
            last_label=month_text(last.year, last.month),
            csv_url=f"/admin/reports.csv?from={first}&to={last}",
            excel_url=f"/admin/reports.csv?from={first}&to={last}&format=excel",
            **page_context(report, ctx.settings.report_monthly_target, Labels(ctx, tags)),
        )
        return Template("admin/reports.html", context=context, headers=NO_STORE)

    @get("/reports.csv")
    async def reports_csv(self, request: Req, ctx: Ctx) -> Response[bytes]:
        user = staff_of(request)
        try:
            first, last = check_range(
                request.query_params.get("from"), request.query_params.get("to"), _today()
            )
        except AppError as exc:
            return Response(
                f"{exc.message}\n".encode(),
                status_code=400,
                media_type="text/plain",
                headers=NO_STORE,
            )
        scope = desk_scope(user)
        desks = (
            "all" if scope is None else [d.key for d in ctx.catalog.desks.values() if d.id in scope]
        )
        detail = {"from": str(first), "to": str(last), "desks": desks}
        await ctx.store.insert_report_export(actor_of(request), f"report:{first}..{last}", detail)
        report = await load_report(ctx, user, first, last)
        if request.query_params.get("format") == "excel":
            tags = {t.key: t.label_ja for t in await ctx.store.list_topic_tags()}
            body, name = excel_csv_body(report, Labels(ctx, tags)), f"madoguchi-{first}-{last}-ja"
        else:
            body, name = csv_body(report), f"madoguchi-{first}-{last}"
        return Response(
            body,
            media_type="text/csv",
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}.csv"'},
        )

    @staticmethod
    def _scope_text(ctx: Ctx, user: User) -> str:
        scope = desk_scope(user)
        if scope is None:
            return "すべての窓口"
        # Practice desks are never reported on (db/reports.py), so never named either.
        return "、".join(
            d.name for d in ctx.catalog.desks.values() if d.id in scope and not d.practice
        )


def _today() -> date:
    return utcnow().astimezone(TOKYO).date()


REPORT_PAGES = [ReportPages]
