"""Secrets by declaration: hidden wherever they were copied to, signatures shown hidden."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.models import TriggerType
from contracts.redaction import HIDDEN, REDACTED, Secrets, declared_secrets
from contracts.triggers import KINDS, trigger_secrets
from tests.factories import demo_request
from tests.factories import trigger as make_trigger
from worker.resolvers import prepare_invocation

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "secret": {"type": "string", "writeOnly": True},
        "name": {"type": "string"},
        "nested": {
            "type": "object",
            "properties": {"keys": {"type": "array", "items": {"writeOnly": True}}},
        },
        "headers": {
            "type": "object",
            "patternProperties": {"(?i)auth": {"writeOnly": True}},
            "additionalProperties": {"type": "string"},
        },
    },
}


def test_declared_secrets_follow_the_schema_not_the_names() -> None:
    config = {
        "secret": "s1",
        "name": "password-looking-but-not-declared",
        "nested": {"keys": ["k1", {"deep": "k2"}]},
        "headers": {"Authorization": "Bearer t1", "X-Plain": "p"},
    }
    assert sorted(declared_secrets(SCHEMA, config)) == ["Bearer t1", "k1", "k2", "s1"]


def test_hide_replaces_secrets_wherever_they_were_copied_and_hides_signature_headers() -> None:
    secrets = Secrets(frozenset({'se"cret'}))
    document = {
        "raw_body": '{"token":"se\\"cret","x":1}',  # JSON-escaped inside a raw body
        "copy": ['prefix se"cret suffix'],
        "headers": {"X-Hub-Signature-256": "sha256=abc", "authorization": "Basic x"},
        "kept": 3,
    }
    assert secrets.hide(document) == {
        "raw_body": f'{{"token":"{REDACTED}","x":1}}',
        "copy": [f"prefix {REDACTED} suffix"],
        "headers": {"X-Hub-Signature-256": HIDDEN, "authorization": HIDDEN},
        "kept": 3,
    }
    assert document["copy"] == ['prefix se"cret suffix']  # the original is untouched


CONFIGS: dict[TriggerType, dict[str, Any]] = {
    TriggerType.WEBHOOK: {
        "secret": "planted-webhook-secret",
        "signature_header": "X-Custom-Sig",
        "headers": {
            "Authorization": "Bearer planted-webhook-bearer",
            "Cookie": "sid=planted-webhook-cookie",
            "X-Api-Key": "planted-webhook-apikey",
            "X-Session-Token": "planted-webhook-session",
        },
    },
    TriggerType.GITHUB: {"repository": "acme/app", "secret": "planted-github-secret"},
    TriggerType.SLACK: {
        "workspace_id": "T0ACME001",
        "signing_secret": "planted-slack-signing",
        "verification_token": "planted-slack-verification",
    },
}


@pytest.mark.parametrize("trigger_type", list(CONFIGS))
@pytest.mark.parametrize("dry_run", [True, False])
def test_every_declared_secret_is_used_in_the_event_and_hidden_in_what_is_shown(
    trigger_type: TriggerType, dry_run: bool
) -> None:
    config = CONFIGS[trigger_type]
    trigger = make_trigger(trigger_type, config)
    planted = [v for v in declared_secrets(KINDS[trigger_type].config_schema, config)]
    assert len(planted) == sum(str(v).count("planted") for v in _leaves(config))
    prepared = prepare_invocation(demo_request(trigger_type, dry_run=dry_run), trigger)
    secrets = trigger_secrets(trigger)
    shown = repr(secrets.hide(prepared.resolved_parameters)) + repr(prepared.event.metadata)
    event = prepared.event.model_dump_json()
    for secret in planted:
        assert secret not in shown
    # The real event signs (and, for Slack, carries its token): nothing was lost on the way.
    assert any(secret in event for secret in planted) or "signature" in event.lower()
    headers = secrets.hide(prepared.resolved_parameters)["headers"]
    signatures = [v for k, v in headers.items() if "signature" in k.lower() or "sig" in k.lower()]
    assert signatures and set(signatures) == {HIDDEN}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value]
