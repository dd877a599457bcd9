"""The design document's own requests (§4.1.2 and §10), verbatim, against the demo data as
shipped, with `wf_123` read as `wf_demo`."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.design_examples import REQUESTS

pytestmark = pytest.mark.e2e

Tokens = Callable[[str], dict[str, str]]


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
async def test_the_design_documents_requests_answer_2xx(
    http: httpx.AsyncClient, as_user: Tokens, method: str, path: str, body: str | None
) -> None:
    response = await http.request(
        method,
        path.replace("wf_123", "wf_demo"),
        headers={**as_user("demo-user"), "Content-Type": "application/json"},
        content=body,
    )
    assert 200 <= response.status_code < 300, response.text
    if body is not None:
        document = response.json()
        assert document["success"] is True
        assert document["execution_url"] == f"/api/v1/executions/{document['execution_id']}"


async def test_the_short_commit_id_is_completed_and_said_so(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    _, path, body = REQUESTS[4]
    assert body is not None
    response = await http.post(
        path.replace("wf_123", "wf_demo"),
        headers=as_user("demo-user"),
        json={**json.loads(body), "dry_run": True},
    )
    assert response.status_code == 200
    commit = response.json()["trigger_data"]["resolved_parameters"]["payload"]["commits"][0]
    assert len(commit["id"]) == 40 and commit["id"].startswith("abc123")
    assert any("abc123" in warning for warning in response.json()["warnings"])


@pytest.mark.parametrize(
    ("trigger", "parameters", "names"),
    [
        ("trig_github_1", {"repository": "other/repo"}, ["repository filter", "myorg/myrepo"]),
        ("trig_github_1", {"event_type": "deployment"}, ["push", "pull_request"]),
        ("trig_email_1", {"from": "x@evil.test"}, ["allowed_sender_domains", "*@example.com"]),
        ("trig_slack_1", {"channel": "C0OTHER01"}, ["channel_filter", "C0DEMO001"]),
        ("trig_slack_1", {"event_type": "message"}, []),  # a filter the event passes
    ],
)
async def test_where_the_triggers_filter_would_drop_the_event_the_400_says_what_passes(
    http: httpx.AsyncClient,
    as_user: Tokens,
    trigger: str,
    parameters: dict[str, str],
    names: list[str],
) -> None:
    response = await http.post(
        f"/api/v1/workflows/wf_demo/triggers/{trigger}/manual-invoke",
        headers=as_user("demo-user"),
        json={"parameters": parameters, "dry_run": True},
    )
    if not names:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 400
    message = " ".join(e["message"] for e in response.json()["errors"])
    assert all(name in message for name in names), message
