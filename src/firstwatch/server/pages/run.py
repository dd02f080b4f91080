"""`/runs/{trace_id}`: the runs of one trace and their steps, as an indented tree."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from firstwatch.server.api.runs import RunDetail, Step, get_trace
from firstwatch.server.pages.context import PageError, signed_in, viewer
from firstwatch.server.pages.layout import badge, e, href, ms, page, q, table, td

router = APIRouter(include_in_schema=False)

INDENT_REM = 1.25
"""How far each level of the tree is indented."""


def _ns(text: str) -> int:
    """Nanoseconds of an RFC 3339 time the API wrote."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)


def _walk(steps: list[Step], depth: int = 1) -> Iterator[tuple[int, Step]]:
    for step in sorted(steps, key=lambda s: (s.start_time, s.span_id)):
        yield depth, step
        yield from _walk(step.children, depth + 1)


def _bar(start_ns: int, duration_ms: float, run_start_ns: int, run_ms: float, failed: bool) -> str:
    total = max(run_ms, 1e-6)
    left = min(max((start_ns - run_start_ns) / 1e6 / total, 0.0), 1.0)
    width = min(max(duration_ms / total, 0.0), 1.0 - left)
    css = "bar error" if failed else "bar"
    return f"<div class='{css}' style='margin-left:{left:.1%};width:{width:.1%}'></div>"


def _retries(count: int | None, wait_ms: float | None) -> str:
    if not count:
        return ""
    return f"{count}" + (f" (waited {ms(wait_ms)})" if wait_ms else "")


def _step_row(depth: int, step: Step, run: RunDetail, run_start_ns: int) -> str:
    failed = step.status == "error"
    dependency = e(step.dependency) + (
        f" <span class='muted'>HTTP {e(step.http_status)}</span>" if step.http_status else ""
    )
    error = (
        (f"<code>{e(step.error_class)}</code> " if step.error_class else "")
        + (f"<span class='muted'>{e(step.error_type)}</span>" if step.error_type else "")
        + (f"<div class='msg'>{e(step.error_message)}</div>" if step.error_message else "")
    )
    model = e(step.model) + (
        f" <span class='muted'>{step.input_tokens or 0}→{step.output_tokens or 0} tok</span>"
        if step.input_tokens is not None or step.output_tokens is not None
        else ""
    )
    return (
        f"<tr class='step' data-span='{e(step.span_id)}' data-parent='{e(step.parent_span_id)}' "
        f"data-depth='{depth}'>"
        f"<td class='name' style='padding-left:{0.55 + depth * INDENT_REM:.2f}rem'>"
        f"<span class='muted'>└ </span>{e(step.name)}</td>"
        + td(e(step.kind))
        + td(badge(step.status))
        + td(ms(step.duration_ms), numeric=True)
        + td(
            _bar(_ns(step.start_time), step.duration_ms, run_start_ns, run.duration_ms, failed),
            css="timeline",
        )
        + td(error, css="error-cell")
        + td(_retries(step.retry_count, step.retry_wait_ms), numeric=True)
        + td(dependency)
        + td(model)
        + "</tr>"
    )


def _attributes(title: str, values: dict[str, Any]) -> str:
    if not values:
        return ""
    rows = (
        "<tr>"
        + td(f"<code>{e(k)}</code>")
        + td(f"<span class='msg'>{e(_text(v))}</span>")
        + "</tr>"
        for k, v in sorted(values.items())
    )
    listed = table("key|value", rows)
    return f"<details><summary>{e(title)} ({len(values)})</summary>{listed}</details>"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _run(run: RunDetail) -> str:
    start_ns = _ns(run.start_time)
    status = "silent-failure" if run.silent_failure else run.status
    facts = [
        (
            "agent",
            f"<a href='{href('/agents/' + q(run.agent))}'>{e(run.agent)}</a>"
            if run.agent is not None
            else "",
        ),
        ("version", e(run.version)),
        ("environment", e(run.environment)),
        ("status", badge(status) + ("" if run.complete else " " + badge("incomplete"))),
        ("error class", f"<code>{e(run.error_class)}</code>" if run.error_class else "–"),
        ("failed checks", ", ".join(f"<code>{e(c)}</code>" for c in run.failed_checks) or "–"),
        ("started", f"<span class='mono'>{e(run.start_time)}</span>"),
        ("duration", ms(run.duration_ms)),
        ("first attempt", ms(run.first_attempt_ms)),
        ("retries", _retries(run.retry_count, run.retry_wait_ms) or "0"),
        (
            "lost to retries",
            "–"
            if run.first_attempt_ms is None
            else ms(max(run.duration_ms - run.first_attempt_ms, 0.0)),
        ),
        ("steps", f"{run.step_count} ({run.error_step_count} failed)"),
    ]
    head = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in facts)
    previews = "".join(
        f"<h3>{e(label)}</h3><div class='msg'>{e(text)}</div>"
        for label, text in (("input", run.input_preview), ("output", run.output_preview))
        if text
    )
    root = (
        f"<tr class='step run' data-span='{e(run.span_id)}' data-depth='0'>"
        f"<td class='name'><b>{e(run.name)}</b></td>"
        + td("run")
        + td(badge(status))
        + td(ms(run.duration_ms), numeric=True)
        + td(
            _bar(start_ns, run.duration_ms, start_ns, run.duration_ms, run.status == "error"),
            css="timeline",
        )
        + td(f"<code>{e(run.error_class)}</code>" if run.error_class else "")
        + td(_retries(run.retry_count, run.retry_wait_ms), numeric=True)
        + td("")
        + td("")
        + "</tr>"
    )
    steps = (_step_row(depth, step, run, start_ns) for depth, step in _walk(run.steps))
    tree = table(
        "step|kind|status|duration|timeline|error|retries|dependency|model",
        [root, *steps],
        numeric=(3, 6),
    )
    return (
        f"<section class='run' data-span='{e(run.span_id)}'>"
        f"<h2>{e(run.name)} <span class='muted mono'>{e(run.span_id)}</span></h2>"
        f"<table class='facts' style='width:auto'>{head}</table>"
        + previews
        + "<h3>Steps</h3>"
        + tree.replace("<table>", "<table class='tree'>", 1)
        + _attributes("run attributes", run.attributes)
        + _attributes("resource", run.resource)
        + "</section>"
    )


@router.get("/runs/{trace_id}", response_class=HTMLResponse)
def run_page(request: Request, trace_id: str) -> HTMLResponse:
    """The runs of one trace with their steps as an indented tree."""
    try:
        who = viewer(request)
        try:
            found = get_trace(request, trace_id, who)
        except HTTPException as exc:
            raise PageError(exc.status_code, str(exc.detail)) from None
    except PageError as exc:
        return exc.response()
    body = (
        "<nav><a href='/'>firstwatch</a> / runs</nav>"
        f"<h1>Trace <span class='mono'>{e(found.trace_id)}</span></h1>"
        f"<div class='sub'>{len(found.runs)} run(s) · "
        f"<a href='/api/v1/runs/{q(found.trace_id)}'>as JSON</a></div>"
        + "".join(_run(run) for run in found.runs)
    )
    return HTMLResponse(
        page(
            f"trace {found.trace_id} · firstwatch",
            body,
            refresh=False,
            signed_in=signed_in(request),
        )
    )
