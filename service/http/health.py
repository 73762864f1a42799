"""Liveness for process supervisors and the test harness."""

from __future__ import annotations

from litestar import get

from service.context import Ctx


@get("/healthz")
async def healthz(ctx: Ctx) -> dict[str, str]:
    await ctx.store.data_version()  # the database answers
    return {"status": "ok"}
