"""Liveness for process supervisors and the test harness."""

from __future__ import annotations

from litestar import get

from service.context import Context


@get("/healthz")
async def healthz(ctx: Context) -> dict[str, str]:
    await ctx.store.data_version()  # the database answers
    return {"status": "ok"}
