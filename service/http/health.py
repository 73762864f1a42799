"""Liveness for process supervisors and the test harness.

``/healthz`` answers 200 only if a write commits: its probe is a tiny write queued like any other
(``Store.check_writes``), so a hung or dead writer, a full queue or a database locked by
another program shows as 503 with the reason, and 200 again as soon as writes commit. With
several processes, Redis must answer too: a node that cannot reach it would serve visitors whose
messages reach no counselor on another node, so the load balancer should send them elsewhere.
"""

from __future__ import annotations

from litestar import Response, get

from service.context import Ctx


@get("/healthz")
async def healthz(ctx: Ctx) -> Response[dict[str, str]]:
    reason = await ctx.store.check_writes(ctx.settings.health_deadline)
    if reason is None:
        reason = await ctx.shared.check(ctx.settings.health_deadline)
    if reason is not None:
        return Response({"status": "unavailable", "reason": reason}, status_code=503)
    return Response({"status": "ok"})
