"""The two reads the panel needs: the caller's workflows, and a workflow's executions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.helpers import eventually

pytestmark = pytest.mark.e2e

Tokens = Callable[[str], dict[str, str]]
EXECUTIONS = "/api/v1/workflows/wf_demo/executions"
MANUAL = "/api/v1/workflows/wf_demo/triggers/trig_manual_1/manual-invoke"


async def test_workflows_lists_what_the_caller_may_read(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    # When each kind of caller asks for their workflows
    operator = (await http.get("/api/v1/workflows", headers=as_user("demo-user"))).json()
    viewer = (await http.get("/api/v1/workflows", headers=as_user("demo-viewer"))).json()
    owner = (await http.get("/api/v1/workflows", headers=as_user("other-owner"))).json()
    stranger = await http.get("/api/v1/workflows", headers=as_user("stranger"))
    # Then each sees only the workflows they belong to, with their role
    assert [(w["id"], w["role"]) for w in operator["workflows"]] == [("wf_demo", "operator")]
    assert operator["workflows"][0]["triggers_url"] == "/api/v1/workflows/wf_demo/triggers"
    assert [(w["id"], w["role"]) for w in viewer["workflows"]] == [
        ("wf_demo", "viewer"),
        ("wf_other", "viewer"),
    ]
    assert [(w["id"], w["role"]) for w in owner["workflows"]] == [("wf_other", "owner")]
    assert stranger.status_code == 200
    assert stranger.json() == {"workflows": []}


@pytest.mark.parametrize("url", ["/api/v1/workflows", EXECUTIONS, f"{EXECUTIONS}?cursor=nonsense"])
async def test_the_panel_reads_need_a_token(http: httpx.AsyncClient, url: str) -> None:
    response = await http.get(url)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


async def invoke(http: httpx.AsyncClient, as_user: Tokens, description: str) -> str:
    response = await http.post(
        MANUAL,
        headers=as_user("demo-user"),
        json={"parameters": {"environment": "staging"}, "description": description},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


async def all_pages(http: httpx.AsyncClient, headers: dict[str, str], query: str) -> list[Any]:
    """Every execution of a query, walking `next_cursor` two at a time."""
    executions: list[Any] = []
    cursor = ""
    for _ in range(1000):
        response = await http.get(f"{EXECUTIONS}?limit=2&{query}{cursor}", headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["executions"]) <= 2
        executions += page["executions"]
        if page["next_cursor"] is None:
            return executions
        cursor = f"&cursor={page['next_cursor']}"
    raise AssertionError("paging never ended")


async def test_executions_are_listed_newest_first_page_by_page(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    # Given three manual runs of one trigger, recorded by the scheduler
    tag = uuid.uuid4().hex[:8]
    mine = [await invoke(http, as_user, f"{tag} run {n}") for n in range(3)]
    viewer = as_user("demo-viewer")

    async def listed() -> list[Any] | None:
        found = await all_pages(http, viewer, "trigger_id=trig_manual_1&manual=true")
        return found if set(mine) <= {e["execution_id"] for e in found} else None

    # When a viewer pages through the trigger's manual runs two at a time
    executions = await eventually(listed)
    # Then no execution appears twice and the order is newest first
    ids = [e["execution_id"] for e in executions]
    assert len(ids) == len(set(ids))
    keys = [(e["created_at"], e["execution_id"]) for e in executions]
    assert keys == sorted(keys, reverse=True)
    # And each says who ran it, why, with which parameters
    first = next(e for e in executions if e["execution_id"] == mine[0])
    assert first["manual"] is True
    assert first["trigger_id"] == "trig_manual_1"
    assert first["trigger_type"] == "MANUAL"
    assert first["initiated_by"] == "demo-user"
    assert first["description"] == f"{tag} run 0"
    assert first["parameters"]["environment"] == "staging"
    assert first["execution_url"] == f"/api/v1/executions/{mine[0]}"
    # And the filters hold: only this trigger, only manual runs
    assert {e["trigger_id"] for e in executions} == {"trig_manual_1"}
    assert all(e["manual"] for e in executions)
    others = await all_pages(http, viewer, "trigger_id=trig_webhook_1")
    assert not set(mine) & {e["execution_id"] for e in others}
    unfiltered = await all_pages(http, viewer, "")
    assert set(mine) <= {e["execution_id"] for e in unfiltered}
    not_manual = await all_pages(http, viewer, "manual=false")
    assert not set(mine) & {e["execution_id"] for e in not_manual}


async def test_executions_of_unknown_or_hidden_workflows_are_the_same_404(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    unknown = await http.get("/api/v1/workflows/wf_nope/executions", headers=as_user("demo-user"))
    hidden = await http.get("/api/v1/workflows/wf_other/executions", headers=as_user("demo-user"))
    odd = await http.get("/api/v1/workflows/%20x%2F/executions", headers=as_user("demo-user"))
    for response in (unknown, hidden, odd):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert unknown.json() == hidden.json()


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("cursor=nonsense", "/cursor"),
        ("cursor=" + "x" * 201, "/cursor"),
        ("cursor=MjAyNi0xMS0yNlQwMjowMDowMHxleGVj", "/cursor"),  # a naive time: not ours
        ("limit=0", "/limit"),
        ("limit=101", "/limit"),
        ("limit=ten", "/limit"),
        ("manual=perhaps", "/manual"),
        ("trigger_id=%20bad%20", "/trigger_id"),
    ],
)
async def test_bad_paging_and_filters_are_400_with_a_path(
    http: httpx.AsyncClient, as_user: Tokens, query: str, path: str
) -> None:
    response = await http.get(f"{EXECUTIONS}?{query}", headers=as_user("demo-viewer"))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in response.json()["errors"]] == [path]


async def test_limit_bounds_are_inclusive(http: httpx.AsyncClient, as_user: Tokens) -> None:
    for limit in (1, 100):
        response = await http.get(f"{EXECUTIONS}?limit={limit}", headers=as_user("demo-user"))
        assert response.status_code == 200
        assert len(response.json()["executions"]) <= limit
