"""SLACK: Events API envelopes that Slack's own SDK verifier accepts."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import Clock, SignatureVerifier

from contracts.kinds.slack import slack_id, verification_token
from contracts.models import TriggerType
from contracts.triggers import trigger_spec
from tests.factories import FIXED_TIME, demo_request, demo_trigger
from tests.unit.resolver_helpers import error_codes, error_paths
from tests.unit.schema_strategies import parameters_of
from worker.resolvers import InvalidInvocation, prepare_invocation, slack

SLACK = TriggerType.SLACK
SECRET = "demo-slack-signing-secret"


class FrozenClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def resolve(parameters: dict[str, Any], **config: Any) -> Any:
    request = demo_request(SLACK, parameters=parameters)
    return prepare_invocation(request, demo_trigger(SLACK, **config))


@pytest.mark.parametrize("event_type", ["message", "app_mention", "reaction_added"])
def test_slacks_own_verifier_accepts_every_event(event_type: str) -> None:
    data = resolve({"event_type": event_type}).event.trigger_data
    verifier = SignatureVerifier(SECRET, clock=FrozenClock(FIXED_TIME.timestamp() + 5))
    assert verifier.is_valid_request(data["raw_body"], data["headers"])
    assert not verifier.is_valid_request(data["raw_body"] + " ", data["headers"])
    assert not SignatureVerifier(
        "another-secret", clock=FrozenClock(FIXED_TIME.timestamp())
    ).is_valid_request(data["raw_body"], data["headers"])
    assert json.loads(data["raw_body"]) == data["payload"]


def test_message_envelope_has_the_events_api_shape() -> None:
    data = resolve({"text": "Deploy finished"}).event.trigger_data
    envelope = data["payload"]
    assert envelope["type"] == "event_callback"
    assert envelope["team_id"] == envelope["context_team_id"] == "T0DEMO001"
    assert envelope["api_app_id"] == "A0DEMO001"
    assert re.fullmatch(r"Ev[A-Z0-9]{10}", envelope["event_id"])
    assert envelope["event_time"] == int(FIXED_TIME.timestamp())
    assert envelope["authorizations"][0]["user_id"] == "U0DEMOBOT"
    assert envelope["event_context"].startswith("4-")
    event = envelope["event"]
    assert event["type"] == "message"
    assert event["channel"] == "C0DEMO001" and event["channel_type"] == "channel"
    assert re.fullmatch(r"\d{10}\.\d{6}", event["ts"]) and event["event_ts"] == event["ts"]
    assert event["ts"] == f"{FIXED_TIME.timestamp():.6f}"
    assert event["text"] == "Deploy finished"
    assert event["blocks"][0]["type"] == "rich_text"
    assert data["headers"]["X-Slack-Request-Timestamp"] == str(int(FIXED_TIME.timestamp()))
    assert data["headers"]["X-Slack-Signature"].startswith("v0=")
    assert data["headers"]["User-Agent"].startswith("Slackbot 1.0")


def test_app_mention_always_mentions_the_bot_and_says_so() -> None:
    prepared = resolve({"event_type": "app_mention", "text": "status?"})
    event = prepared.event.trigger_data["payload"]["event"]
    assert event["text"] == "<@U0DEMOBOT> status?"
    assert event["blocks"][0]["elements"][0]["elements"][0] == {
        "type": "user",
        "user_id": "U0DEMOBOT",
    }
    assert "channel_type" not in event
    assert "context_team_id" not in prepared.event.trigger_data["payload"]
    assert prepared.warnings == ["added the bot mention <@U0DEMOBOT> the trigger requires"]


def test_a_required_mention_is_a_real_mention_not_an_at_sign() -> None:
    prepared = resolve({"text": "hey @U0DEMOBOT look"}, mention_required=True)
    assert prepared.event.trigger_data["message"] == "<@U0DEMOBOT> hey @U0DEMOBOT look"
    already = resolve({"text": "<@U0DEMOBOT> look"}, mention_required=True)
    assert already.event.trigger_data["message"] == "<@U0DEMOBOT> look"
    assert already.warnings == []


def test_reaction_added_points_at_a_message() -> None:
    data = resolve(
        {
            "event_type": "reaction_added",
            "reaction": "white_check_mark",
            "item_ts": "1764000000.000100",
        }
    ).event.trigger_data
    event = data["payload"]["event"]
    assert event["reaction"] == "white_check_mark"
    assert event["item"] == {"type": "message", "channel": "C0DEMO001", "ts": "1764000000.000100"}
    assert data["reaction"] == "white_check_mark"


def test_thread_replies_carry_thread_ts_and_parent_user() -> None:
    event = resolve({"thread_ts": "1764000000.000100"}).event.trigger_data["payload"]["event"]
    assert event["thread_ts"] == "1764000000.000100"
    assert event["parent_user_id"] == event["user"]


@pytest.mark.parametrize(
    ("parameters", "config", "path", "code"),
    [
        ({"channel": "C0OTHER001"}, {}, "/parameters/channel", "filter_channel"),
        (
            {"event_type": "app_mention"},
            {"event_types": ["message"]},
            "/parameters/event_type",
            "enum",  # the schema lists the trigger's events
        ),
        ({"event_type": "file_shared"}, {}, "/parameters/event_type", "enum"),
        ({"thread_ts": "yesterday"}, {}, "/parameters/thread_ts", "pattern"),
    ],
)
def test_bad_slack_parameters_are_400_with_paths(
    parameters: dict[str, Any], config: dict[str, Any], path: str, code: str
) -> None:
    with pytest.raises(InvalidInvocation) as exc:
        resolve(parameters, **config)
    assert error_paths(exc) == [path]
    assert error_codes(exc) == [code]


def test_no_signing_secret_no_signature() -> None:
    headers = resolve({}, signing_secret=None).event.trigger_data["headers"]
    assert "X-Slack-Signature" not in headers


def test_signing_secret_is_not_in_the_event() -> None:
    event = resolve({}).event
    assert SECRET not in event.model_dump_json()


def test_a_bot_id_marks_a_message_posted_by_a_bot_and_the_envelope_is_on_top() -> None:
    request = demo_request(TriggerType.SLACK, parameters={"bot_id": "B0DEPLOY01", "text": "done"})
    data = prepare_invocation(request, demo_trigger(TriggerType.SLACK)).event.trigger_data
    assert data["event"]["bot_id"] == "B0DEPLOY01"
    assert data["event"] == data["payload"]["event"]
    assert (data["type"], data["team_id"]) == ("event_callback", "T0DEMO001")
    assert data["token"] == data["payload"]["token"]


# Identity fields are the trigger's (issue 17): the envelope's workspace, app, bot
# authorization and token are derived from the config, and resolve checks the emitted envelope
# against them, so no parameter (now or later) can change them silently.

TEAM, APP, BOT = "T0DEMO001", "A0DEMO001", "U0DEMOBOT"


def identity_of(envelope: dict[str, Any], **config: Any) -> list[str]:
    trigger_config = demo_trigger(SLACK, **config).config
    return [
        e.message
        for e in slack.identity_errors(
            envelope,
            event_type=envelope["event"]["type"],
            team=trigger_config["workspace_id"],
            app_id=trigger_config.get("app_id") or slack_id("A", f"app:{TEAM}"),
            bot=trigger_config.get("bot_user_id") or slack_id("U", f"bot:{TEAM}"),
            token=verification_token(trigger_config),
        )
    ]


def decoded_context(envelope: dict[str, Any]) -> dict[str, Any]:
    data = envelope["event_context"][2:]
    context: dict[str, Any] = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    return context


@pytest.mark.parametrize("event_type", ["message", "app_mention", "reaction_added"])
@pytest.mark.parametrize("derived", [False, True])
def test_the_envelopes_identity_is_derived_from_the_config(event_type: str, derived: bool) -> None:
    config: dict[str, Any] = {"app_id": None, "bot_user_id": None} if derived else {}
    envelope = resolve({"event_type": event_type}, **config).event.trigger_data["payload"]
    app = slack_id("A", f"app:{TEAM}") if derived else APP
    bot = slack_id("U", f"bot:{TEAM}") if derived else BOT
    assert (envelope["team_id"], envelope["api_app_id"]) == (TEAM, app)
    assert [(a["team_id"], a["user_id"]) for a in envelope["authorizations"]] == [(TEAM, bot)]
    assert {k: decoded_context(envelope)[k] for k in ("tid", "aid")} == {"tid": TEAM, "aid": app}
    if event_type != "app_mention":
        assert envelope["context_team_id"] == TEAM
    if event_type != "reaction_added":
        assert envelope["event"]["team"] == TEAM
    assert identity_of(envelope, **config) == []


def _context(team: str, app: str) -> str:
    context = {"et": "message", "tid": team, "aid": app, "cid": "C0DEMO001"}
    return "4-" + base64.urlsafe_b64encode(json.dumps(context).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"team_id": "T0EVIL0001"}, "team_id"),
        ({"api_app_id": "A0EVIL0001"}, "api_app_id"),
        ({"context_team_id": "T0EVIL0001"}, "context_team_id"),
        ({"context_enterprise_id": "E0EVIL0001"}, "context_enterprise_id"),
        ({"token": "another-token"}, "token"),
        ({"authorizations": []}, "authorizations"),
        (
            {"authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": "U0EVIL0001",
                                 "is_bot": True, "is_enterprise_install": False}]},
            "authorizations",
        ),
        ({"event_context": _context("T0EVIL0001", APP)}, "event_context"),
        ({"event_context": _context(TEAM, "A0EVIL0001")}, "event_context"),
        ({"event_context": "4-not base64 json"}, "event_context"),
    ],
)  # fmt: skip
def test_an_envelope_with_another_identity_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    envelope = resolve({}).event.trigger_data["payload"]
    messages = identity_of({**envelope, **change})
    assert len(messages) == 1 and messages[0].startswith(f"the event's {field} is not the trigger")
    if field == "token":
        assert "another-token" not in messages[0] and "token:" not in messages[0]


def test_identity_keys_slack_leaves_out_must_stay_out() -> None:
    mention = resolve({"event_type": "app_mention"}).event.trigger_data["payload"]
    added = identity_of({**mention, "context_team_id": TEAM})
    assert [m.split(" is ")[0] for m in added] == ["the event's context_team_id"]
    reaction = resolve({"event_type": "reaction_added"}).event.trigger_data["payload"]
    tampered = {**reaction, "event": {**reaction["event"], "team": TEAM}}
    assert [m.split(" is ")[0] for m in identity_of(tampered)] == ["the event's event.team"]


def test_resolve_refuses_an_envelope_whose_identity_is_not_the_triggers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check runs on what is emitted: if the envelope ever said another workspace (here a
    token that changes between building the envelope and checking it), resolve refuses."""
    tokens = iter(["token-built-into-the-envelope", "the-triggers-token"])
    monkeypatch.setattr(slack, "verification_token", lambda config: next(tokens))
    with pytest.raises(InvalidInvocation) as exc:
        resolve({})
    assert error_paths(exc) == ["/parameters"]
    assert error_codes(exc) == ["identity_field"]


@given(st.data())
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_parameter_changes_the_envelopes_identity(data: st.DataObject) -> None:
    trigger = demo_trigger(SLACK)
    parameters = data.draw(parameters_of(trigger_spec(trigger).parameter_schema))
    request = demo_request(SLACK, parameters=parameters)
    try:
        envelope = prepare_invocation(request, trigger).event.trigger_data["payload"]
    except InvalidInvocation as exc:
        assert all(e.code != "identity_field" for e in exc.errors)
        return
    assert (envelope["team_id"], envelope["api_app_id"]) == (TEAM, APP)
    assert envelope["authorizations"][0]["user_id"] == BOT
    assert identity_of(envelope) == []
