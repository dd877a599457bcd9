"""Secrets by location: declared in the config schema (and configured headers unless declared
public), replaced where they sit when a record is made, never searched for by value."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.models import TriggerType
from contracts.redaction import (
    HIDDEN,
    REDACTED,
    Redaction,
    redact_config,
    redact_url,
)
from contracts.triggers import trigger_redaction
from tests.factories import demo_request
from tests.factories import trigger as make_trigger
from worker.resolvers import prepare_invocation

ASCII_WORDS = string.ascii_letters + string.digits + " -_."
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "secret": {"type": "string", "writeOnly": True},
        "name": {"type": "string"},
        "nested": {
            "type": "object",
            "properties": {"keys": {"type": "array", "items": {"writeOnly": True}}},
        },
        "webhook_url": {"type": "string"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def test_declared_secrets_follow_the_schema_not_the_names() -> None:
    config = {
        "secret": "s1",
        "name": "password-looking",
        "nested": {"keys": ["k1", {"deep": "k2"}]},
    }
    assert redact_config(SCHEMA, config) == {
        "secret": REDACTED,
        "name": "password-looking",
        "nested": {"keys": [REDACTED, REDACTED]},
    }


def test_a_config_is_redacted_where_it_declares_secrets() -> None:
    config = {
        "secret": "s1",
        "name": "shown",
        "nested": {"keys": ["k1", {"deep": "k2"}]},
        "webhook_url": "https://user:pw@hooks.example.com/in?token=t0k&team=a#frag",
        "headers": {
            "Ocp-Apim-Subscription-Key": "azure-key",  # a name no heuristic would catch
            "X-Access-Key": "access-key",
            "Content-Type": "application/json",
            "X-Team": "team-a",
        },
    }
    shown = redact_config(SCHEMA, config, frozenset({"content-type", "x-team"}))
    assert shown == {
        "secret": REDACTED,
        "name": "shown",
        "nested": {"keys": [REDACTED, REDACTED]},
        "webhook_url": f"https://{REDACTED}@hooks.example.com/in?token={REDACTED}&team={REDACTED}#frag",
        "headers": {
            "Ocp-Apim-Subscription-Key": REDACTED,
            "X-Access-Key": REDACTED,
            "Content-Type": "application/json",
            "X-Team": "team-a",
        },
    }
    assert config["secret"] == "s1"  # the original is untouched


def test_a_record_is_redacted_at_locations_whatever_the_values() -> None:
    redaction = Redaction(
        headers=frozenset({"x-hub-signature-256", "x-api-key"}),
        members=frozenset({"token"}),
        urls=(("trigger_data", "webhook_url"),),
    )
    payload = {"token": "tok", "text": "tok"}  # the same string elsewhere is not a location
    record = {
        "trigger_data": {
            "headers": {"X-Hub-Signature-256": "sha256=abc", "X-API-Key": "k", "X-Other": "tok"},
            "token": "tok",
            "payload": payload,
            "raw_body": '{"token":"tok","text":"tok"}',
            "webhook_url": "https://a:b@example.com/x?k=v",
        },
        "input_data": {"token": "tok", "text": "tok"},
    }
    shown = redaction.record(record)
    data = shown["trigger_data"]
    assert data["headers"] == {"X-Hub-Signature-256": HIDDEN, "X-API-Key": HIDDEN, "X-Other": "tok"}
    assert data["token"] == REDACTED and data["payload"] == {"token": REDACTED, "text": "tok"}
    assert data["raw_body"] == f'{{"token":"{REDACTED}","text":"tok"}}'
    assert data["webhook_url"] == f"https://{REDACTED}@example.com/x?k={REDACTED}"
    assert shown["input_data"] == {"token": REDACTED, "text": "tok"}
    assert record["trigger_data"]["token"] == "tok"  # the original is untouched


def test_a_manual_run_s_typed_parameters_are_hidden_where_its_event_is() -> None:
    # Given a manual run whose invoker typed a secret header and a credential member
    redaction = Redaction(headers=frozenset({"x-api-key"}), members=frozenset({"token"}))
    typed = {"headers": {"X-API-Key": "k", "X-Other": "v"}, "token": "tok", "text": "hi"}
    record = {"metadata": {"manual_invocation": True, "simulated_parameters": typed}}
    # When the record is shown
    shown = redaction.record(record)["metadata"]["simulated_parameters"]
    # Then they are hidden as given (nobody here computed them), the rest as typed
    assert shown == {
        "headers": {"X-API-Key": REDACTED, "X-Other": "v"},
        "token": REDACTED,
        "text": "hi",
    }
    assert typed["headers"]["X-API-Key"] == "k"  # the original is untouched


@given(st.lists(st.text(ASCII_WORDS, min_size=1, max_size=40), min_size=1, max_size=50))
def test_no_redaction_depends_on_what_a_caller_wrote(candidates: list[str]) -> None:
    # A caller's strings at no declared location come back as written, one of them equal to
    # a secret or not: the answer is no oracle.
    trigger = make_trigger(
        TriggerType.WEBHOOK, {"secret": candidates[0], "headers": {"X-K": "configured-key"}}
    )
    prepared = prepare_invocation(
        demo_request(TriggerType.WEBHOOK, parameters={"body": {"candidates": candidates}}), trigger
    )
    shown = trigger_redaction(trigger).record({"trigger_data": prepared.resolved_parameters})
    assert shown["trigger_data"]["body"] == {"candidates": candidates}
    assert shown["trigger_data"]["headers"]["X-K"] == HIDDEN


def test_url_credentials_are_redacted_and_text_is_left_alone() -> None:
    assert redact_url("https://h.example/p") == "https://h.example/p"
    assert redact_url("/relative/path") == "/relative/path"
    assert redact_url("https://tok@h.example/") == f"https://{REDACTED}@h.example/"


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
    planted = [v for v in _leaves(config) if "planted" in str(v)]
    prepared = prepare_invocation(demo_request(trigger_type, dry_run=dry_run), trigger)
    redaction = trigger_redaction(trigger)
    answer = redaction.record({"trigger_data": prepared.resolved_parameters})["trigger_data"]
    shown = repr(answer) + repr(prepared.event.metadata)
    recorded = repr(redaction.record(prepared.event.model_dump(mode="json")))
    event = prepared.event.model_dump_json()
    for secret in planted:
        assert secret not in shown and secret not in recorded
    # The real event signs (and, for Slack, carries its token): nothing was lost on the way.
    assert any(secret in event for secret in planted) or "signature" in event.lower()
    signatures = [v for k, v in answer["headers"].items() if "sig" in k.lower()]
    assert signatures and set(signatures) == {HIDDEN}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value]
