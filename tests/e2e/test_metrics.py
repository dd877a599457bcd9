"""The design document's metrics, on the running system: its label sets, every refusal counted
wherever it is decided (shim or worker), and no label value a caller can mint."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts.models import MAX_BODY_BYTES
from tests.helpers import eventually

pytestmark = pytest.mark.e2e
Tokens = Callable[[str], dict[str, str]]
WEBHOOK = "/api/v1/workflows/wf_demo/triggers/trig_webhook_1/manual-invoke"
INVOCATIONS = "manual_trigger_invocations_total"


async def samples(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = (await http.get("/metrics")).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_invocations_carry_the_document_s_labels(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    before = await samples(http)
    response = await http.post(WEBHOOK, headers=as_user("demo-user"), json={"parameters": {}})
    assert response.status_code == 202
    accepted = {"workflow_id": "wf_demo", "trigger_type": "WEBHOOK", "status": "accepted"}

    async def counted() -> bool:
        after = await samples(http)
        return (
            value(after, INVOCATIONS, **accepted, reason="none")
            == value(before, INVOCATIONS, **accepted, reason="none") + 1
            and value(
                after,
                "manual_trigger_invocation_duration_seconds_count",
                workflow_id="wf_demo",
                trigger_type="WEBHOOK",
            )
            > 0
        )

    await eventually(counted)


async def test_ids_that_name_nothing_are_counted_as_unknown(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    # Given requests for workflows that do not exist, each with a fresh id
    minted = [f"wf_{uuid.uuid4().hex}" for _ in range(3)]
    before = await samples(http)
    for workflow in minted:
        url = f"/api/v1/workflows/{workflow}/triggers/trig_webhook_1/manual-invoke"
        assert (await http.post(url, headers=as_user("demo-user"), json={})).status_code == 404
    # Then they are one series, workflow_id="unknown", and none of their ids is a label
    labels = {"workflow_id": "unknown", "trigger_type": "unknown", "status": "not_found"}

    async def counted() -> bool:
        after = await samples(http)
        grown = value(after, INVOCATIONS, **labels, reason="not_found")
        return grown == value(before, INVOCATIONS, **labels, reason="not_found") + 3

    await eventually(counted)
    text = (await http.get("/metrics")).text
    assert not any(workflow in text for workflow in minted)


async def test_refusals_the_shim_decides_are_counted_too(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    before = await samples(http)
    shim = {"workflow_id": "unknown", "trigger_type": "unknown"}
    # No token: 401; a body that is not JSON: 400; a body over the limit: 413; a form
    # instead of JSON: 415; an id that cannot exist: 404; all answered before any worker
    # sees them
    assert (await http.post(WEBHOOK, json={})).status_code == 401
    broken = await http.post(
        WEBHOOK,
        headers={**as_user("demo-user"), "Content-Type": "application/json"},
        content=b'{"dry_run": true, "parameters": ',
    )
    assert broken.status_code == 400
    nested = {"dry_run": True, "parameters": {"body": {"x": "y" * 10}}, "unknown_field": 1}
    invalid = await http.post(WEBHOOK, headers=as_user("demo-user"), json=nested)
    assert invalid.status_code == 400
    big = b'{"parameters": {"body": "' + b"x" * MAX_BODY_BYTES + b'"}}'
    too_large = await http.post(
        WEBHOOK, headers={**as_user("demo-user"), "Content-Type": "application/json"}, content=big
    )
    assert too_large.status_code == 413
    form = await http.post(WEBHOOK, headers=as_user("demo-user"), data={"dry_run": "true"})
    assert form.status_code == 415
    bad_id = "/api/v1/workflows/wf%20demo/triggers/trig_webhook_1/manual-invoke"
    assert (await http.post(bad_id, headers=as_user("demo-user"), json={})).status_code == 404
    after = await samples(http)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew(INVOCATIONS, **shim, status="unauthorized", reason="invalid_token") == 1
    assert grew(INVOCATIONS, **shim, status="invalid", reason="json_invalid") == 1
    assert grew(INVOCATIONS, **shim, status="invalid", reason="extra_forbidden") == 1
    assert grew(INVOCATIONS, **shim, status="invalid", reason="too_large") == 1
    assert grew(INVOCATIONS, **shim, status="invalid", reason="unsupported_media_type") == 1
    assert grew(INVOCATIONS, **shim, status="not_found", reason="not_found") == 1
    errors = "manual_trigger_validation_errors_total"
    assert grew(errors, trigger_type="unknown", error_type="json_invalid") == 1
    assert grew(errors, trigger_type="unknown", error_type="too_large") == 1
    # The refused body that parsed asked for a dry run: it is a dry run request all the same
    assert grew("manual_trigger_dry_runs_total", trigger_type="unknown") == 1


async def test_every_dry_run_request_is_counted_whatever_its_outcome(
    http: httpx.AsyncClient, as_user: Tokens
) -> None:
    before = await samples(http)
    ok = await http.post(WEBHOOK, headers=as_user("demo-user"), json={"dry_run": True})
    refused = await http.post(
        WEBHOOK,
        headers=as_user("demo-user"),
        json={"dry_run": True, "parameters": {"method": "BREW"}},
    )
    assert (ok.status_code, refused.status_code) == (200, 400)

    async def counted() -> bool:
        after = await samples(http)
        dry = "manual_trigger_dry_runs_total"
        return (
            value(after, dry, trigger_type="WEBHOOK")
            == value(before, dry, trigger_type="WEBHOOK") + 2
        )

    await eventually(counted)
