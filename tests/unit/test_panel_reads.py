"""The panel's reads (paging cursors, execution summaries) and its page, without services."""

from __future__ import annotations

import base64
import inspect
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.routing import APIRoute

from contracts.models import (
    MAX_ANSWER_BYTES,
    InvokeResult,
    InvokeStatus,
    TriggerData,
    TriggerType,
)
from worker import store
from worker.resources import Resources
from worker.settings import Settings
from worker.shim.app import create_app
from worker.shim.panel import PANEL_CSP
from worker.shim.routes import executions, health, invoke, reads, stream
from worker.shim.routes.executions import execution_summary
from worker.shim.routes.invoke import answer_content


def execution(metadata: dict[str, object], execution_id: str = "exec_1") -> store.Execution:
    return store.Execution(
        execution_id=execution_id,
        event_id="evt_1",
        workflow_id="wf",
        trigger_id="trig",
        trigger_type="WEBHOOK",
        status="pending",
        trigger_data={},
        input_data=None,
        metadata=metadata,
        created_at=datetime(2026, 11, 26, 2, 0, 0, 123456, tzinfo=UTC),
    )


def test_a_cursor_reads_back_as_the_position_it_was_made_from() -> None:
    cursor = store.encode_cursor(execution({}, "exec_a|b"))
    assert "=" not in cursor
    assert store.decode_cursor(cursor) == (
        datetime(2026, 11, 26, 2, 0, 0, 123456, tzinfo=UTC),
        "exec_a|b",
    )


def b64(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "a",
        b64(b"no separator"),
        b64(b"2026-11-26T02:00:00|exec_1"),  # a time without its offset
        b64(b"2026-11-26T02:00:00+00:00|"),  # no id
        b64(b"yesterday|exec_1"),
        b64(b"\xff\xfe|exec_1"),
    ],
)
def test_a_cursor_this_service_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(store.BadCursor):
        store.decode_cursor(cursor)


def test_a_manual_run_is_summarised_with_who_why_and_what() -> None:
    summary = execution_summary(
        execution(
            {
                "manual_invocation": True,
                "initiated_by": "ann",
                "invocation_description": "why",
                "simulated_parameters": {"a": 1},
            }
        ),
        None,
    )
    assert (summary.manual, summary.initiated_by, summary.description) == (True, "ann", "why")
    assert summary.parameters == {"a": 1}
    assert summary.execution_url == "/api/v1/executions/exec_1"


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"manual_invocation": "true", "simulated_parameters": {"a": 1}},  # not the boolean
        {"initiated_by": "a real ingress", "simulated_parameters": {"a": 1}},
    ],
)
def test_other_executions_carry_no_manual_fields(metadata: dict[str, object]) -> None:
    # (and, their trigger gone, no parameters to reproduce them: tests/unit/test_reproduce.py)
    summary = execution_summary(execution(metadata), None)
    assert summary.manual is False
    assert (summary.initiated_by, summary.description, summary.parameters) == (None, None, None)


async def get_page(ui_dir: Path) -> httpx.Response:
    """GET / of a shim serving `ui_dir` (building the app opens no connection)."""
    settings = Settings(jwt_secret="x" * 40, ui_dir=ui_dir)
    app = create_app(Resources(settings, *(cast(Any, None),) * 3), cast(Any, None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shim") as client:
        return await client.get("/")


async def test_the_shim_serves_the_built_panel_with_its_policy(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>panel</title>")
    page = await get_page(tmp_path)
    assert page.status_code == 200
    assert "panel" in page.text
    assert page.headers["content-security-policy"] == PANEL_CSP


async def test_an_unbuilt_panel_says_how_to_build_it(tmp_path: Path) -> None:
    page = await get_page(tmp_path)
    assert page.status_code == 404
    assert page.headers["content-type"] == "application/problem+json"
    assert "make install" in page.json()["detail"]


def answer(raw_message: str) -> InvokeResult:
    return InvokeResult(
        invocation_id="inv-1",
        status=InvokeStatus.DRY_RUN,
        success=True,
        message="Dry run: valid",
        workflow_id="wf",
        trigger_id="trig",
        trigger_data=TriggerData(
            trigger_type=TriggerType.EMAIL, resolved_parameters={"raw_message": raw_message}
        ),
    )


def test_the_http_answer_adds_the_wire_preview_to_the_result() -> None:
    result = answer("From: a@example.com\r\n\r\nhello")
    body = json.loads(answer_content(result))
    assert body == {
        **result.model_dump(mode="json"),
        "wire_preview": {
            "title": "Email message (RFC 5322)",
            "text": "From: a@example.com\r\n\r\nhello",
        },
    }
    no_data = result.model_copy(update={"trigger_data": None})
    assert json.loads(answer_content(no_data))["wire_preview"] is None


def test_a_large_answer_s_preview_is_cut_to_keep_it_bounded() -> None:
    result = answer("é" * MAX_ANSWER_BYTES)  # cut by the result's own bound, then the preview
    content = answer_content(result)
    assert len(content) < MAX_ANSWER_BYTES
    body = json.loads(content)
    assert body["trigger_data"] == result.model_dump(mode="json")["trigger_data"]
    preview = body["wire_preview"]
    assert preview["text"].endswith("more characters]")


def _sync_calls(dependant: Any) -> list[str]:
    """The plain functions among a route's endpoint and its dependencies, at any depth."""
    found = []
    for dependency in [dependant, *dependant.dependencies]:
        call = dependency.call
        if call is None:
            continue
        method = getattr(call, "__call__", None)  # noqa: B004 -- an instance's async __call__
        awaited = any(
            inspect.iscoroutinefunction(f) or inspect.isasyncgenfunction(f) for f in (call, method)
        )
        if not awaited:
            found.append(getattr(call, "__qualname__", repr(call)))
        if dependency is not dependant:
            found += _sync_calls(dependency)
    return found


def test_no_route_runs_on_a_worker_thread() -> None:
    # A plain `def` endpoint or dependency is run by FastAPI on a thread of its pool: a hop per
    # request that cost the shim a fifth of its CPU. The service's own are all `async def`.
    routers = [reads.router, invoke.router, executions.router, stream.router, health.router]
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 10
    assert {r.path: calls for r in routes if (calls := _sync_calls(r.dependant))} == {}
