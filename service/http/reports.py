"""The reports page and its CSV export: consultations per month against the target,
where visitors came from, and how well they were served. Supervisors and admins only.

Aggregates only: the store hands over times, keys and survey numbers (``db/reports.py``), and
every label here comes from what admins set up (desks, partners, campaigns, topic tags). A
supervisor of some desks sees those desks' figures; an admin, and a supervisor of every desk,
the whole service's. Every CSV download is written to the audit log before it is read, so no
export goes unrecorded.

In Japanese, or in English with ``?lang=en`` (words from ``report_i18n.py``, names from
``report_names.py``); the machine CSV is the same in both.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Response, get
from litestar.response import Template

from service.clock import iso, utcnow
from service.context import Ctx
from service.domain import jst
from service.domain.accounts import Role, User
from service.domain.jst import month_text
from service.domain.reports import (
    MAX_MONTHS,
    TOKYO,
    Figures,
    Month,
    RangeRefused,
    Report,
    Row,
    build_report,
    check_range,
    csv_rows,
    utc_bounds,
)
from service.errors import AppError
from service.http.report_charts import heat_level, month_chart, share_width
from service.http.report_names import Labels, Name
from service.http.staff_pages import NO_STORE, STAFF_EXCEPTIONS, Req, actor_of, staff_of, staff_only
from service.report_i18n import CSV_COLUMNS_TEXT, report_lang, report_text

REPORTING_ROLES: frozenset[Role] = frozenset({"supervisor", "admin"})
# A printed report keeps its date: its "made at" always shows the day, never the time alone.
NEVER_TODAY = datetime(1970, 1, 1, tzinfo=UTC)
DIMENSIONS = ("desk", "source", "topic", "language", "outcome")


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


def seconds_text(seconds: int | None, lang: str = "ja") -> str:
    if seconds is None:
        return "—"
    words = report_text(lang)
    if seconds < 60:
        return words["seconds"].format(s=seconds)
    if seconds < 3600:
        return words["minutes"].format(m=seconds // 60, s=seconds % 60)
    return words["hours"].format(h=seconds // 3600, m=seconds % 3600 // 60)


def share_text(count: int, total: int) -> str:
    return "—" if total <= 0 else f"{math.floor(100 * count / total + 0.5)}%"


def figures_row(label: Name, key: str, f: Figures, total: int, lang: str) -> dict[str, Any]:
    return {
        "label": label,
        "key": key,
        "count": f.consultations,
        "share": share_text(f.consultations, total),
        "bar": share_width(f.consultations, total),
        "reply_median": seconds_text(f.first_reply_median_s, lang),
        "reply_p90": seconds_text(f.first_reply_p90_s, lang),
        "left_waiting": f.left_waiting,
        "left_share": share_text(f.left_waiting, f.consultations),
        "quick_exits": f.quick_exits,
        "duration": seconds_text(f.duration_median_s, lang),
        "referred": f.referred,
        "closed": f.closed,
        "answered": f.answered,
        "surveys": f.survey_responses,
    }


def page_context(report: Report, target: int, labels: Labels) -> dict[str, Any]:
    lang, words = labels.lang, report_text(labels.lang)
    totals = report.totals()
    whole = report.overall_of("total")[0].figures
    grid_top = max((n for hours in report.by_hour for n in hours), default=0)
    ratings = whole.ratings
    answered_helpful = whole.helpful_yes + whole.helpful_no
    weekdays = jst.WEEKDAYS_EN if lang == "en" else jst.WEEKDAYS_JA
    return {
        "chart": month_chart(
            [(str(r.month), r.figures.consultations) for r in totals], target, lang
        ),
        "months": [_month_row(r, target, lang) for r in totals],
        "months_met": sum(1 for r in totals if r.figures.consultations >= target),
        "whole": figures_row(Name(words["total"]), "all", whole, whole.consultations, lang),
        "dimensions": [
            {
                "name": name,
                "title": words[f"dim_{name}"],
                "rows": [
                    figures_row(labels.of(name, r.key), r.key, r.figures, whole.consultations, lang)
                    for r in report.overall_of(name)
                ],
            }
            for name in DIMENSIONS
        ],
        "hours": [words["col_hour"].format(h=h) for h in range(24)],
        "grid": [
            {
                "day": weekdays[day],
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


def _month_row(row: Row, target: int, lang: str) -> dict[str, Any]:
    f, month = row.figures, row.month
    # The rows of totals() are per month.
    label = month_text(month.year, month.month, lang) if month else ""
    return {
        **figures_row(Name(label), str(month), f, f.consultations, lang),
        "month": str(month),
        "month_label": label,
        "met": f.consultations >= target,
        "short": max(target - f.consultations, 0),
    }


def range_error(refused: AppError, typed: dict[str, str], lang: str) -> str:
    """Why a range was refused, in the page's language, naming the months as they were typed."""
    words = report_text(lang)
    problem = refused.problem if isinstance(refused, RangeRefused) else ""
    if problem in ("from", "to"):
        return words[f"bad_{problem}"]
    if problem == "length":
        return words["bad_length"].format(max=MAX_MONTHS)
    if problem == "order":
        return words["bad_order"].format(first=typed["from"], last=typed["to"])
    return refused.message


def csv_body(report: Report) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(report))
    return out.getvalue().encode("utf-8")


# The export for people (``?format=excel``): the same rows and figures as the machine CSV, with
# column names in the page's language and every key by its name.
EXCEL_COLUMNS = CSV_COLUMNS_TEXT["ja"]


def spreadsheet_safe(text: str) -> str:
    """A name an admin typed, kept from being read as a formula (OWASP "CSV injection")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def excel_csv_body(report: Report, labels: Labels) -> bytes:
    """UTF-8 with a byte order mark and CRLF line ends: Excel opens it with Japanese intact."""
    lang, words = labels.lang, report_text(labels.lang)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS_TEXT[lang])
    for (month, dimension, _key, *values), row in zip(
        csv_rows(report)[1:], report.rows, strict=True
    ):
        total = dimension == "total"
        name = words["total"] if total else str(labels.of(dimension, row.key))
        when = month_text(row.month.year, row.month.month, lang) if row.month else month
        kind = words["total"] if total else words.get(f"csv_{dimension}", dimension)
        writer.writerow([when, kind, spreadsheet_safe(name), *values])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def with_query(path: str, query: dict[str, str], lang: str) -> str:
    """``path`` with the months (as typed) and, on an English page, ``lang=en``."""
    params = {k: v for k, v in query.items() if v}
    if lang == "en":
        params["lang"] = "en"
    return f"{path}?{urlencode(params)}" if params else path


class ReportPages(Controller):
    path = "/admin"
    include_in_schema = False
    guards = [staff_only]  # noqa: RUF012 (Litestar's declarative controller attributes)
    opt = {"roles": REPORTING_ROLES}  # noqa: RUF012
    exception_handlers = STAFF_EXCEPTIONS  # type: ignore[assignment]

    @get("/reports")
    async def reports(self, request: Req, ctx: Ctx) -> Template:
        user = staff_of(request)
        lang = report_lang(request.query_params.get("lang"))
        query = {k: str(request.query_params.get(k) or "") for k in ("from", "to")}
        labels = Labels(ctx.catalog, await ctx.store.list_topic_tags(), lang)
        context: dict[str, Any] = {
            "lang": lang,
            "w": report_text(lang),
            "user": user,
            "query": query,
            # The language switch opens the same months in the other language.
            "switchable": True,
            "here": with_query("/admin/reports", query, "ja"),
            "target": ctx.settings.report_monthly_target,
            "scope": labels.scope(desk_scope(user)),
            "made_at": jst.human(utcnow(), NEVER_TODAY, lang),
        }
        try:
            first, last = check_range(query["from"], query["to"], _today())
        except AppError as exc:
            context["range_error"] = range_error(exc, query, lang)
            context["range_problem"] = exc.problem if isinstance(exc, RangeRefused) else ""
            return Template(
                "admin/reports.html", context=context, status_code=400, headers=NO_STORE
            )
        report = await load_report(ctx, user, first, last)
        months = {"from": str(first), "to": str(last)}
        context.update(
            first=str(first),
            last=str(last),
            first_label=month_text(first.year, first.month, lang),
            last_label=month_text(last.year, last.month, lang),
            csv_url=with_query("/admin/reports.csv", months, lang),
            excel_url=with_query("/admin/reports.csv", {**months, "format": "excel"}, lang),
            **page_context(report, ctx.settings.report_monthly_target, labels),
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
            # For people, in the language of the page it was taken from.
            lang = report_lang(request.query_params.get("lang"))
            labels = Labels(ctx.catalog, await ctx.store.list_topic_tags(), lang)
            suffix = report_text(lang)["csv_suffix"]
            body, name = excel_csv_body(report, labels), f"madoguchi-{first}-{last}-{suffix}"
        else:
            body, name = csv_body(report), f"madoguchi-{first}-{last}"
        return Response(
            body,
            media_type="text/csv",
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}.csv"'},
        )


def _today() -> date:
    return utcnow().astimezone(TOKYO).date()


REPORT_PAGES = [ReportPages]
