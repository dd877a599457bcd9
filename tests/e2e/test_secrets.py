"""Secrets never leave: a distinct secret planted in every secret field of every trigger type,
then every surface grepped for it (answers, statuses, executions, trigger views, Redis, the
CLI, `dlq show`, the log). The real event still carries them, and its signatures, on the
exchange: nothing is lost on the way; every record and answer is redacted where they sit."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from redis.asyncio import Redis

from contracts.redaction import HIDDEN
from contracts.topology import dead_letter_exchange
from tests.helpers import Service, eventually, publish_raw, run_cli
from worker.catalog import Catalog, apply_catalog

pytestmark = pytest.mark.e2e

PLANTED = {
    "webhook-secret": "planted-1-webhook-signing-secret",
    "webhook-bearer": "planted-2-webhook-bearer",
    "webhook-cookie": "planted-3-webhook-cookie",
    "webhook-apikey": "planted-4-webhook-api-key",
    "github-secret": "planted-5-github-secret",
    "slack-signing": "planted-6-slack-signing-secret",
    "slack-token": "planted-7-slack-verification-token",
}
WORKFLOW = {
    "id": "wf_secrets",
    "name": "Secrets planted in every field",
    "owner": "secret-owner",
    "members": {"secret-viewer": "viewer"},
    "triggers": [
        {
            "id": "trig_webhook",
            "type": "WEBHOOK",
            "config": {
                "webhook_url": "/w/secret",
                "secret": PLANTED["webhook-secret"],
                "signature_header": "X-Acme-Signature",
                "headers": {
                    "Authorization": f"Bearer {PLANTED['webhook-bearer']}",
                    "Cookie": f"sid={PLANTED['webhook-cookie']}",
                    "X-Api-Key": PLANTED["webhook-apikey"],
                    "X-Team": "visible",
                },
                "public_headers": ["X-Team"],
            },
        },
        {
            "id": "trig_github",
            "type": "GITHUB",
            "config": {"repository": "acme/app", "secret": PLANTED["github-secret"]},
        },
        {
            "id": "trig_slack",
            "type": "SLACK",
            "config": {
                "workspace_id": "T0ACME001",
                "signing_secret": PLANTED["slack-signing"],
                "verification_token": PLANTED["slack-token"],
            },
        },
    ],
}
TRIGGERS = {"trig_webhook": {"body": {"a": 1}}, "trig_github": {}, "trig_slack": {"text": "hi"}}
SIGNATURES = ("X-Acme-Signature", "X-Hub-Signature-256", "X-Hub-Signature", "X-Slack-Signature")


def leaked(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [s for s in (*PLANTED.values(), *extra) if s in text]


async def test_no_surface_shows_a_declared_secret_or_a_usable_signature(
    service: Service,
    http: httpx.AsyncClient,
    pool: asyncpg.Pool,
    broker: AbstractRobustConnection,
    redis: Redis,
) -> None:
    await apply_catalog(pool, Catalog.model_validate({"workflows": [WORKFLOW]}))
    # A queue of our own beside the scheduler's: the real events, as the exchange carries them
    tap = await broker.channel()
    copies = await tap.declare_queue(exclusive=True)
    await copies.bind(service.settings.topology.trigger_exchange, routing_key="*.wf_secrets.*")
    owner, viewer = service.token("secret-owner"), service.token("secret-viewer")
    base = "/api/v1/workflows/wf_secrets/triggers"
    shown: list[str] = []
    rows: list[dict[str, Any]] = []
    for trigger, parameters in TRIGGERS.items():
        for dry_run in (True, False):
            answer = await http.post(
                f"{base}/{trigger}/manual-invoke",
                headers=owner,
                json={"parameters": parameters, "dry_run": dry_run},
            )
            assert answer.status_code in (200, 202), answer.text
            document = answer.json()
            headers = document["trigger_data"]["resolved_parameters"]["headers"]
            assert {headers[h] for h in SIGNATURES if h in headers} == {HIDDEN}
            shown.append(answer.text)
            status = await http.get(
                f"/api/v1/invocations/{document['invocation_id']}", headers=owner
            )
            shown.append(status.text)
            if dry_run:
                continue
            # The event on the exchange is the real one (signed); the record the scheduler
            # writes is redacted where the trigger declares its credentials
            execution_id = document["execution_id"]
            row = await eventually(
                lambda: pool.fetchrow(
                    "SELECT * FROM workflow_executions WHERE execution_id = $1",
                    execution_id,  # noqa: B023 -- awaited within this iteration
                )
            )
            rows.append(dict(row))
            recorded = row["trigger_data"]["headers"]
            assert {recorded[h] for h in SIGNATURES if h in recorded} == {HIDDEN}
            execution = await http.get(
                f"/api/v1/executions/{document['execution_id']}", headers=viewer
            )
            assert execution.status_code == 200
            shown.append(execution.text)
        shown.append(
            (await http.get(f"{base}/{trigger}/manual-invoke/schema", headers=viewer)).text
        )
    shown.append((await http.get(base, headers=viewer)).text)
    # Redacted when written: no record holds a credential
    stored = json.dumps(rows, default=str)
    assert leaked(stored) == []
    # ... while the events on the exchange are the real ones: signed, with the credentials
    real = [json.loads((await copies.get(timeout=10)).body) for _ in rows]
    await tap.close()
    signatures = [
        e["trigger_data"]["headers"][h]
        for e in real
        for h in SIGNATURES
        if h in e["trigger_data"]["headers"]
    ]
    assert len(signatures) == 4 and all(
        s.startswith(("sha256=", "sha1=", "v0=")) for s in signatures
    )
    assert PLANTED["slack-token"] in json.dumps(real) and PLANTED["webhook-bearer"] in json.dumps(
        real
    )

    # The CLI, pointed at the running service's instance
    env = service.settings
    for trigger, parameters in TRIGGERS.items():
        code, out, err = await run_cli(
            env, "invoke", "wf_secrets", trigger, "--user", "secret-owner",
            "--params-file", "-", "--json", stdin=json.dumps(parameters).encode(),
        )  # fmt: skip
        assert code == 0, err
        shown += [out, err]
        code, out, err = await run_cli(env, "schema", "wf_secrets", trigger, "--json")
        shown += [out, err]

    # A dead-lettered real event (signed, with its token), shown by `dlq show`
    dead = next(e for e in real if e["trigger_type"] == "SLACK")
    await publish_raw(
        broker,
        dead_letter_exchange(env.topology.scheduler_queue),
        "slack.wf_secrets.trig_slack",
        json.dumps(dead).encode(),
    )
    code, out, err = await run_cli(env, "dlq", "show", dead["event_id"], "--json")
    assert code == 0, err
    assert json.loads(out)["event"]["trigger_data"]["headers"]["X-Slack-Signature"] == HIDDEN
    shown += [out, err]

    # Every Redis value of the instance
    async for key in redis.scan_iter(match=env.topology.redis_key("*")):
        if await redis.type(key) == b"string":
            shown.append((await redis.get(key) or b"").decode(errors="replace"))
    shown.append(service.log.read_text())

    everything = "\n".join(shown)
    assert leaked(everything, tuple(signatures)) == []
    assert "visible" in everything  # what is not declared secret is shown
