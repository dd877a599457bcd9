"""SLACK: an Events API `event_callback` delivery, signed as Slack signs it.

With a trigger `signing_secret`, `X-Slack-Signature` is `v0=` + the HMAC-SHA256 of
`v0:{X-Slack-Request-Timestamp}:{body}`, which Slack's own SDK verifier accepts (it also
requires the timestamp to be within five minutes of its clock). A required mention is a real
`<@BOTID>` mention in the text.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from contracts.ids import dashed, derived_hex
from contracts.kinds.base import event_types
from contracts.kinds.slack import (
    DEFAULT_REACTION,
    DEFAULT_TEXT,
    SIGNATURE_HEADER,
    SlackKind,
    channel_filter,
    slack_id,
    verification_token,
)
from contracts.models import FieldError, InvokeRequest
from contracts.regex import linear
from worker.resolvers.base import (
    MISSING,
    InvalidInvocation,
    Resolution,
    compact_json,
    derived_uuid_hex,
    same_json,
    unsubscribed,
    value_at,
)
from worker.resolvers.reproducing import dict_of, expressible, present
from worker.resolvers.signing import hmac_hex, signed_headers

_MENTION = linear(r"<@([UW][A-Z0-9]+)>")
CHANNEL_TYPES = {"C": "channel", "G": "group", "D": "im"}
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def slack_ts(seconds: float) -> str:
    """Slack message timestamps: Unix seconds with six decimals, as a string."""
    return f"{seconds:.6f}"


def rich_text(text: str, block_seed: str) -> list[dict[str, Any]]:
    """The `rich_text` block Slack attaches to a user's message, mentions split out."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in _MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    block_id = base64.b32encode(bytes.fromhex(derived_hex(block_seed, 6))).decode()[:5]
    return [
        {
            "type": "rich_text",
            "block_id": block_id,
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def _bot_user_id(config: dict[str, Any]) -> str:
    return config.get("bot_user_id") or slack_id("U", f"bot:{config['workspace_id']}")


def _context_ids(value: Any) -> dict[str, Any] | None:
    """The team and app an `event_context` names (None when it is not one)."""
    if not isinstance(value, str) or not value.startswith("4-"):
        return None
    data = value[2:]
    try:
        context = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except ValueError:  # binascii.Error, UnicodeDecodeError, JSONDecodeError: all ValueErrors
        return None
    return (
        {"tid": context.get("tid"), "aid": context.get("aid")}
        if isinstance(context, dict)
        else None
    )


def identity_errors(
    envelope: dict[str, Any], *, event_type: str, team: str, app_id: str, bot: str, token: str
) -> list[FieldError]:
    """The output contract: the envelope's workspace, app, bot and token are the trigger's,
    derived from its configuration, whatever a parameter said; one error per field that is
    not (no parameter may change them, now or later)."""
    app_mention, reaction = event_type == "app_mention", event_type == "reaction_added"
    expected: dict[tuple[str, ...], Any] = {
        ("token",): token,
        ("team_id",): team,
        # Slack leaves the context ids out of app_mention deliveries, and `team` out of a
        # reaction_added event.
        ("context_team_id",): MISSING if app_mention else team,
        ("context_enterprise_id",): MISSING if app_mention else None,
        ("api_app_id",): app_id,
        ("event", "team"): MISSING if reaction else team,
        ("authorizations",): [
            {
                "enterprise_id": None,
                "team_id": team,
                "user_id": bot,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }
    expected[("event_context",)] = {"tid": team, "aid": app_id}
    given = {path: value_at(envelope, path) for path in expected}
    given[("event_context",)] = _context_ids(envelope.get("event_context"))
    return [
        FieldError(
            path="/parameters",
            code="identity_field",
            message=f"the event's {'.'.join(path)} is not the trigger's"
            + ("" if path == ("token",) else f" ({_shown(value)})")
            + ": a delivery's workspace (team), app, bot authorization and token are derived "
            "from the trigger's configuration, and no parameter may change them",
        )
        for path, value in expected.items()
        if not same_json(value, given[path])
    ]


def _shown(value: Any) -> str:
    text = "absent" if value is MISSING else compact_json(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _filter_errors(config: dict[str, Any], event_type: str, channel: str) -> list[FieldError]:
    """The trigger's event and channel filters a real delivery would have passed."""
    errors = unsubscribed(event_types(config, "message"), event_type)
    channels = channel_filter(config)
    if channels and channel not in channels:
        errors.append(
            FieldError(
                path="/parameters/channel",
                code="filter_channel",
                message=f"channel {channel} does not pass the trigger's channel_filter; "
                f"it passes {', '.join(channels)}",
            )
        )
    return errors


def _mentioned(
    config: dict[str, Any], event_type: str, text: str, bot: str
) -> tuple[str, list[str]]:
    """The text with the bot mention the trigger requires (and a warning when it was added)."""
    needs_mention = event_type == "app_mention" or (
        event_type == "message" and config.get("mention_required", False)
    )
    if needs_mention and f"<@{bot}>" not in text:
        return f"<@{bot}> {text}", [f"added the bot mention <@{bot}> the trigger requires"]
    return text, []


@dataclass(frozen=True)
class _Delivery:
    """What the parts of one simulated delivery share."""

    request: InvokeRequest
    event_type: str
    team: str
    app_id: str
    bot: str
    user: str
    channel: str
    seconds: float

    @property
    def ts(self) -> str:
        return slack_ts(self.seconds)


def _reaction_event(d: _Delivery, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": d.user,
        "reaction": p.get("reaction", DEFAULT_REACTION),
        "item": {
            "type": "message",
            "channel": d.channel,
            "ts": p.get("item_ts") or slack_ts(d.seconds - 60),
        },
        "item_user": p.get("item_user") or d.user,
        "event_ts": d.ts,
    }


def _message_event(d: _Delivery, p: dict[str, Any], text: str) -> dict[str, Any]:
    """A `message` or `app_mention` event, its keys in Slack's order."""
    event: dict[str, Any] = {
        "user": d.user,
        "type": d.event_type,
        "ts": d.ts,
        "client_msg_id": dashed(derived_uuid_hex(d.request, "slack-client-msg")),
        "text": text,
        "team": d.team,
    }
    # The design document's event keys are always there, null when not set.
    event["thread_ts"] = p.get("thread_ts")
    if p.get("thread_ts"):
        event["parent_user_id"] = p.get("item_user") or d.user
    event["bot_id"] = p.get("bot_id")
    event |= {
        "blocks": rich_text(text, f"{d.request.invocation_id}:block"),
        "channel": d.channel,
        "event_ts": d.ts,
    }
    if d.event_type == "message":
        event["channel_type"] = p.get("channel_type") or CHANNEL_TYPES.get(d.channel[0], "channel")
    return event


def _envelope(d: _Delivery, event: dict[str, Any], token: str) -> dict[str, Any]:
    """The Events API `event_callback` envelope around the event."""
    context = {"et": d.event_type, "tid": d.team, "aid": d.app_id, "cid": d.channel}
    envelope: dict[str, Any] = {"token": token, "team_id": d.team}
    if d.event_type != "app_mention":  # Slack leaves these out of app_mention deliveries
        envelope |= {"context_team_id": d.team, "context_enterprise_id": None}
    envelope |= {
        "api_app_id": d.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": slack_id("Ev", f"{d.request.invocation_id}:event"),
        "event_time": int(d.seconds),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": d.team,
                "user_id": d.bot,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-"
        + base64.urlsafe_b64encode(json.dumps(context, separators=(",", ":")).encode())
        .decode()
        .rstrip("="),
    }
    return envelope


def _headers(config: dict[str, Any], raw_body: str, seconds: float) -> dict[str, str]:
    """The delivery's headers as Slack sends them, signed with the trigger's signing secret."""
    timestamp = str(int(seconds))
    headers = {
        "Accept": "*/*",
        "Accept-Encoding": "gzip,deflate",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": timestamp,
    }
    signatures = {}
    if secret := config.get("signing_secret"):
        signatures[SIGNATURE_HEADER] = "v0=" + hmac_hex(secret, f"v0:{timestamp}:{raw_body}")
    return signed_headers(headers, raw_body, signatures)


class SlackResolver(SlackKind):
    def resolve(
        self, config: dict[str, Any], p: dict[str, Any], request: InvokeRequest
    ) -> Resolution:
        event_type: str = p["event_type"]
        if errors := _filter_errors(config, event_type, p["channel"]):
            raise InvalidInvocation(errors)
        team = config["workspace_id"]
        d = _Delivery(
            request=request,
            event_type=event_type,
            team=team,
            app_id=config.get("app_id") or slack_id("A", f"app:{team}"),
            bot=_bot_user_id(config),
            user=p.get("user") or slack_id("U", f"user:{request.user_id}"),
            channel=p["channel"],
            seconds=request.requested_at.timestamp(),
        )
        text, warnings = _mentioned(config, event_type, p.get("text", DEFAULT_TEXT), d.bot)
        if event_type == "reaction_added":
            event = _reaction_event(d, p)
        else:
            event = _message_event(d, p, text)
        envelope = _envelope(d, event, verification_token(config))
        # Checked against the identity derived afresh from the config, not against the values
        # the envelope was built with.
        if errors := identity_errors(
            envelope,
            event_type=event_type,
            team=config["workspace_id"],
            app_id=config.get("app_id") or slack_id("A", f"app:{team}"),
            bot=_bot_user_id(config),
            token=verification_token(config),
        ):
            raise InvalidInvocation(errors)
        raw_body = compact_json(envelope)
        summary = (
            {"reaction": p.get("reaction", DEFAULT_REACTION), "channel": d.channel, "user": d.user}
            if event_type == "reaction_added"
            else {"message": text, "channel": d.channel, "user": d.user}
        )
        return Resolution(
            trigger_data={
                # The Events API envelope at the top, as the design document shows it
                # (its `token` is hidden in every answer), and the summary beside it.
                **envelope,
                "event_type": event_type,
                **summary,
                "headers": _headers(config, raw_body, d.seconds),
                "payload": envelope,
                "raw_body": raw_body,
                "received_at": request.requested_at.isoformat(),
            },
            input_data=summary,
            metadata={
                "slack_event": event_type,
                "workspace_id": team,
                "trigger_config": self.shown_config(config),
            },
            warnings=warnings,
        )

    def params_from(self, trigger_data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """The event's type, channel and author, and its message (text, thread, bot, channel
        type, thread parent) or its reaction (emoji, reacted-to message and its author)."""
        envelope = dict_of(trigger_data.get("payload")) or trigger_data
        event = dict_of(envelope.get("event"))
        event_type = event.get("type", trigger_data.get("event_type"))
        item = dict_of(event.get("item"))
        parameters = {
            "event_type": event_type,
            "channel": event.get("channel", item.get("channel")),
            "user": event.get("user"),
        }
        if event_type == "reaction_added":
            parameters |= {
                "reaction": event.get("reaction"),
                "item_ts": item.get("ts"),
                "item_user": event.get("item_user"),
            }
        else:
            parameters |= {
                "text": event.get("text"),
                "thread_ts": event.get("thread_ts"),
                "bot_id": event.get("bot_id"),
                "channel_type": event.get("channel_type"),
                # a reply's parent author is what the resolver's `item_user` writes there
                "item_user": event.get("parent_user_id") if event.get("thread_ts") else None,
            }
        return expressible(self, config, present(parameters))


RESOLVER = SlackResolver()
