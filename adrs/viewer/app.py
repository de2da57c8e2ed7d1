"""The viewer's web application (Starlette): one page, a few JSON endpoints, server-sent events.

Every route is fixed; a candidate is looked up by key or commit id among the run's programs,
never by a path, so no request can name a file. The page's script and style are package data
read once at start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from adrs.graph.errors import USER_ERRORS
from adrs.graph.review import ReviewAnswer
from adrs.report.summary import RunSummary, comparison_rows
from adrs.viewer import views
from adrs.viewer.access import Access, SecurityHeadersMiddleware, TokenMiddleware
from adrs.viewer.source import RunSource

_PROGRAM = re.compile(r"^(i\d{4,}-s\d+|[0-9a-f]{40})$")
_REVIEW_ID = re.compile(r"^[0-9a-f]{8,64}$")
EVENT_POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0


def _asset(name: str) -> str:
    return (resources.files("adrs.viewer") / "static" / name).read_text(encoding="utf-8")


def create_app(source: RunSource, access: Access, compare: Sequence[RunSource] = ()) -> Starlette:
    """The viewer of the run `source` holds; `compare` holds other runs shown beside it (open
    for the viewer's lifetime, like `source`: a request reads only what changed in them)."""
    page, script = _asset("index.html"), _asset("viewer.js")
    style = _asset("viewer.css") + "\n" + views.CODE_CSS

    def index(request: Request) -> Response:
        return HTMLResponse(page)

    def asset(body: str, media_type: str):
        def serve(request: Request) -> Response:
            return Response(body, media_type=media_type)
        return serve

    def run_json(request: Request) -> Response:
        snap = source.snapshot()
        info = views.run_info(source.summary(), source.run.settings.model_dump(mode="json"),
                              snap.state, snap.pending, snap.steering, snap.version)
        info["access"] = {"writable": access.writable,
                          "write_key": access.write_key if access.writable else None,
                          "compare": bool(compare)}
        info["progress"] = views.progress(snap.database.records)
        return JSONResponse(info)

    def candidates_json(request: Request) -> Response:
        snap = source.snapshot()
        return JSONResponse({"version": snap.version,
                             "candidates": views.candidates(snap.database.records,
                                                            snap.database.best.id)})

    def candidate_json(request: Request) -> Response:
        key = request.path_params["key"]
        record = source.record(key) if _PROGRAM.match(key) else None
        if record is None:
            return JSONResponse({"error": "no such candidate"}, status_code=404)
        database = source.snapshot().database
        parent = database.get(record.parent_id) if record.parent_id in database else None
        children = [r for r in database.records if r.parent_id == record.id]
        return JSONResponse(views.detail(record, parent, source.note(record),
                                         source.diff(record), children))

    def compare_json(request: Request) -> Response:
        try:
            summaries: list[RunSummary] = [run.summary() for run in (source, *compare)]
        except USER_ERRORS as exc:
            return JSONResponse({"error": str(exc)}, status_code=500)
        return JSONResponse({"runs": [s.name for s in summaries],
                             "rows": comparison_rows(summaries)})

    async def events(request: Request) -> Response:
        async def stream():
            last, quiet = None, 0.0
            while True:
                snap = await run_in_threadpool(source.snapshot)
                if snap.version != last:
                    last, quiet = snap.version, 0.0
                    yield f"event: change\ndata: {json.dumps({'version': last})}\n\n"
                elif quiet >= KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": still here\n\n"
                await anyio.sleep(EVENT_POLL_SECONDS)
                quiet += EVENT_POLL_SECONDS
        return StreamingResponse(stream(), media_type="text/event-stream")

    async def steer(request: Request) -> Response:
        body = await _json_body(request, access)
        if isinstance(body, Response):
            return body
        text, author = body.get("text"), body.get("author")
        if not isinstance(text, str) or not isinstance(author, str):
            return JSONResponse({"error": "send {\"text\": ..., \"author\": ...}"}, status_code=400)
        try:
            note = await run_in_threadpool(source.steer, text, author)
        except USER_ERRORS as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"text": note.text, "author": note.author,
                             "after_iteration": note.after_iteration}, status_code=201)

    async def answer_review(request: Request) -> Response:
        review_id = request.path_params["review_id"]
        if not _REVIEW_ID.match(review_id):
            return JSONResponse({"error": "no such review"}, status_code=404)
        body = await _json_body(request, access)
        if isinstance(body, Response):
            return body
        try:
            answer = ReviewAnswer.model_validate(body)
            await run_in_threadpool(source.answer, review_id, answer)
        except ValidationError as exc:
            first = exc.errors()[0]
            return JSONResponse({"error": f"{'.'.join(map(str, first['loc']))}: {first['msg']}"},
                                status_code=400)
        except USER_ERRORS as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse({"posted": review_id}, status_code=202)

    routes = [
        Route("/", index),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/static/viewer.js", asset(script, "text/javascript")),
        Route("/static/viewer.css", asset(style, "text/css")),
        Route("/api/run", run_json),
        Route("/api/candidates", candidates_json),
        Route("/api/candidates/{key}", candidate_json),
        Route("/api/compare", compare_json),
        Route("/api/events", events),
        Route("/api/steer", steer, methods=["POST"]),
        Route("/api/reviews/{review_id}", answer_review, methods=["POST"]),
    ]
    middleware = [Middleware(SecurityHeadersMiddleware),
                  Middleware(TrustedHostMiddleware, allowed_hosts=access.allowed_hosts()),
                  Middleware(TokenMiddleware, access=access)]
    return Starlette(routes=routes, middleware=middleware)


async def _json_body(request: Request, access: Access) -> dict[str, Any] | Response:
    refused = access.write_refusal(request)
    if refused is not None:
        return refused
    try:
        body = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"error": "the body is not JSON"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
    return body
