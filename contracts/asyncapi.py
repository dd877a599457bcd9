"""The AsyncAPI 3 document of the message interface, made from the contracts themselves.

One source of truth, as `/openapi.json` is for HTTP: channel addresses come from `Topology`,
payloads from the pydantic models' JSON Schemas, limits from the constants that enforce them.
`python -m contracts.export` writes it to `contracts/asyncapi.json`; the shim serves it at
`/asyncapi.json`; a test validates it with the official `@asyncapi/parser`.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from contracts.executions import (
    MAX_ERROR_MESSAGE,
    MAX_OUTPUT_BYTES,
    MAX_UPDATE_BYTES,
    STATUS_CHANNEL,
    ExecutionStatus,
    ExecutionUpdate,
)
from contracts.models import (
    MAX_ANSWER_BYTES,
    MAX_ERRORS,
    MAX_MESSAGE_BYTES,
    MAX_STRING,
    InvocationSource,
    InvokeRequest,
    InvokeResult,
    InvokeStatus,
    TriggerEvent,
    TriggerType,
)
from contracts.topology import (
    DIRECT_REPLY_TO,
    INVOKE_ROUTING_KEY,
    Topology,
    dead_letter_exchange,
    dead_letter_queue,
)

VERSION = "0.1.0"
AMQP_BINDING_VERSION = "0.3.0"


def _schemas() -> dict[str, Any]:
    """Every model's JSON Schema as a component, its `$defs` lifted beside it."""
    found: dict[str, Any] = {}
    for model in (InvokeRequest, InvokeResult, TriggerEvent, ExecutionUpdate):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def _exchange(name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "durable": True, "autoDelete": False, "vhost": "/"}


def _queue(name: str, *, durable: bool = True, exclusive: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "durable": durable,
        "exclusive": exclusive,
        "autoDelete": not durable,
        "vhost": "/",
    }


def _amqp(binding: dict[str, Any]) -> dict[str, Any]:
    return {"amqp": {**binding, "bindingVersion": AMQP_BINDING_VERSION}}


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(path)}


PROPERTIES: dict[str, Any] = {
    "type": "object",
    "description": "AMQP properties and headers of an invoke message (not its body).",
    "properties": {
        "user_id": {
            "type": "string",
            "description": "Your broker user: RabbitMQ refuses any other, so the worker trusts "
            "it (a delegate acts for the body's user_id; others act as themselves).",
        },
        "authorization": {
            "type": "string",
            "pattern": "^Bearer .+$",
            "description": "Header: a bearer JWT, verified as the HTTP API verifies one; the "
            "body's user_id must be its subject. When present, it decides.",
        },
        "reply_to": {"const": DIRECT_REPLY_TO, "description": "Where the answer goes."},
        "correlation_id": {
            "type": "string",
            "description": "Echoed on the answer: match answers on it (an idempotent "
            "request may answer with the first invocation's id in the body).",
        },
        "message_id": {"type": "string", "description": "The invocation id."},
        "expiration": {
            "type": "string",
            "description": "Milliseconds; a request that waits longer in the queue is "
            "dropped by the broker, unanswered (its dead-letter queue takes it).",
        },
    },
}


def _messages() -> dict[str, Any]:
    statuses = ", ".join(f"`{s.value}`" for s in InvokeStatus)
    sources = ", ".join(f"`{s.value}`" for s in InvocationSource)
    return {
        "InvokeRequest": {
            "name": "InvokeRequest",
            "title": "Fire one trigger by hand",
            "contentType": "application/json",
            "headers": PROPERTIES,
            "payload": _ref("components", "schemas", "InvokeRequest"),
            "description": f"At most {MAX_MESSAGE_BYTES} bytes; strings at most {MAX_STRING} "
            f"characters. `source`: one of {sources} (`amqp` for a system of your own).",
            "bindings": _amqp({"contentEncoding": "utf-8", "messageType": "invoke-request"}),
        },
        "InvokeResult": {
            "name": "InvokeResult",
            "title": "The worker's answer",
            "contentType": "application/json",
            "payload": _ref("components", "schemas", "InvokeResult"),
            "correlationId": {"location": "$message.header#/correlation_id"},
            "description": f"`status`: one of {statuses}. At most {MAX_ANSWER_BYTES} bytes and "
            f"{MAX_ERRORS} errors (then one `more_errors`). A dry run's `event_id` names an "
            "event that was not published.",
        },
        "TriggerEvent": {
            "name": "TriggerEvent",
            "title": "A trigger fired (real, or by hand)",
            "contentType": "application/json",
            "payload": _ref("components", "schemas", "TriggerEvent"),
            "description": "The scheduler records one execution per event id; a manual one "
            "carries `metadata.manual_invocation: true`.",
        },
        "ExecutionUpdate": {
            "name": "ExecutionUpdate",
            "title": "A workflow engine reports an execution's step",
            "contentType": "application/json",
            "payload": _ref("components", "schemas", "ExecutionUpdate"),
            "description": f"At most {MAX_UPDATE_BYTES} bytes; `output` and `error.details` at "
            f"most {MAX_OUTPUT_BYTES} bytes as JSON, `error.message` {MAX_ERROR_MESSAGE} "
            "characters. Applied forward only (pending → running → succeeded, failed or "
            "cancelled): a duplicate or late step changes nothing; an update for an unknown "
            "execution is dead-lettered. Each applied step is announced on the PostgreSQL "
            f"channel `{STATUS_CHANNEL}`.",
        },
    }


def _channels(topology: Topology) -> dict[str, Any]:
    channels = {
        "invoke": {
            "address": INVOKE_ROUTING_KEY,
            "title": "Invoke requests",
            "messages": {"invokeRequest": _ref("components", "messages", "InvokeRequest")},
            "bindings": _amqp(
                {"is": "routingKey", "exchange": _exchange(topology.invoke_exchange, "direct")}
            ),
        },
        "replies": {
            "address": DIRECT_REPLY_TO,
            "title": "Answers (RabbitMQ direct reply-to)",
            "description": "Consume it with auto-ack on the publishing channel before "
            "publishing; answers come with the request's correlation_id.",
            "messages": {"invokeResult": _ref("components", "messages", "InvokeResult")},
            "bindings": _amqp(
                {"is": "queue", "queue": _queue(DIRECT_REPLY_TO, durable=False, exclusive=True)}
            ),
        },
        "triggerEvents": {
            "address": "{triggerType}.{workflowId}.{triggerId}",
            "title": "Trigger events",
            "parameters": {
                "triggerType": {
                    "enum": [t.value.lower() for t in TriggerType],
                    "description": "The trigger's type, lower case.",
                },
                "workflowId": {"description": "The workflow's id."},
                "triggerId": {"description": "The trigger's id."},
            },
            "messages": {"triggerEvent": _ref("components", "messages", "TriggerEvent")},
            "bindings": _amqp(
                {"is": "routingKey", "exchange": _exchange(topology.trigger_exchange, "topic")}
            ),
        },
        "executionUpdates": {
            "address": "{status}",
            "title": "Execution updates (from workflow engines)",
            "parameters": {
                "status": {
                    "enum": [s.value for s in ExecutionStatus if s is not ExecutionStatus.PENDING],
                    "description": "The status the update reports (its `status` field).",
                },
            },
            "messages": {
                "executionUpdate": _ref("components", "messages", "ExecutionUpdate"),
            },
            "bindings": _amqp(
                {"is": "routingKey", "exchange": _exchange(topology.updates_exchange, "topic")}
            ),
        },
    }
    return {**channels, **_dead_letter_channels(topology)}


def _dead_letter_channels(topology: Topology) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for queue, message, key in (
        (topology.invoke_queue, "InvokeRequest", "invokeDeadLetters"),
        (topology.scheduler_queue, "TriggerEvent", "triggerEventDeadLetters"),
        (topology.updates_queue, "ExecutionUpdate", "executionUpdateDeadLetters"),
    ):
        channels[key] = {
            "address": dead_letter_queue(queue),
            "title": f"Dead letters of {queue}",
            "description": f"What {queue} could not process (through {dead_letter_exchange(queue)}"
            "), with RabbitMQ's x-death headers; `manual-trigger dlq` and `replay` read it.",
            "messages": {key[0].lower() + key[1:-1]: _ref("components", "messages", message)},
            "bindings": _amqp({"is": "queue", "queue": _queue(dead_letter_queue(queue))}),
        }
    return channels


def _operations() -> dict[str, Any]:
    return {
        "sendInvokeRequest": {
            "action": "send",
            "channel": _ref("channels", "invoke"),
            "title": "Invoke a trigger",
            "security": [
                _ref("components", "securitySchemes", "brokerUser"),
                _ref("components", "securitySchemes", "bearerToken"),
            ],
            "messages": [_ref("channels", "invoke", "messages", "invokeRequest")],
            "bindings": _amqp({"deliveryMode": 2, "mandatory": True}),
            "reply": {
                "address": {
                    "location": "$message.header#/reply_to",
                    "description": "The reply_to property: amq.rabbitmq.reply-to.",
                },
                "channel": _ref("channels", "replies"),
                "messages": [_ref("channels", "replies", "messages", "invokeResult")],
            },
        },
        "receiveTriggerEvent": {
            "action": "receive",
            "channel": _ref("channels", "triggerEvents"),
            "title": "The scheduler records each trigger event",
            "messages": [_ref("channels", "triggerEvents", "messages", "triggerEvent")],
        },
        "sendExecutionUpdate": {
            "action": "send",
            "channel": _ref("channels", "executionUpdates"),
            "title": "Report an execution's step (workflow engines; the scheduler applies it)",
            "security": [_ref("components", "securitySchemes", "brokerUser")],
            "messages": [_ref("channels", "executionUpdates", "messages", "executionUpdate")],
            "bindings": _amqp({"deliveryMode": 2, "mandatory": True}),
        },
    }


def _components() -> dict[str, Any]:
    return {
        "messages": _messages(),
        "schemas": _schemas(),
        "securitySchemes": {
            "brokerUser": {
                "type": "userPassword",
                "description": "Your broker user, also in the validated user_id property.",
            },
            "bearerToken": {
                "type": "httpApiKey",
                "name": "authorization",
                "in": "header",
                "description": "`Bearer <JWT>` in the message header `authorization`.",
            },
        },
    }


def asyncapi_document(topology: Topology | None = None) -> dict[str, Any]:
    """The document, its parts made from the contracts (channel addresses from `topology`)."""
    topology = topology or Topology()
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Manual Trigger Invocation: messages",
            "version": VERSION,
            "description": "Publish an InvokeRequest to fire any trigger of any workflow by "
            "hand; the worker answers on direct reply-to and publishes the simulated event "
            "onto the trigger events exchange real triggers use. See docs/amqp.md.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "A development broker; names take MTI_NAMESPACE as a prefix.",
                "security": [_ref("components", "securitySchemes", "brokerUser")],
            }
        },
        "channels": _channels(topology),
        "operations": _operations(),
        "components": _components(),
    }


def rendered() -> str:
    return json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"


def _row(*cells: str) -> str:
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def render_html(document: dict[str, Any]) -> str:
    """The document for people: a static page (no script, no style sheet, works offline) of
    the channels, operations, messages with their schemas, and security schemes."""
    info = document["info"]
    channels = []
    for key, channel in document["channels"].items():
        binding = channel["bindings"]["amqp"]
        where = (
            f"exchange <code>{escape(binding['exchange']['name'])}</code> "
            f"({escape(binding['exchange']['type'])})"
            if binding["is"] == "routingKey"
            else f"queue <code>{escape(binding['queue']['name'])}</code>"
        )
        names = ", ".join(
            escape(m["$ref"].rsplit("/", 1)[-1]) for m in channel["messages"].values()
        )
        channels.append(
            _row(escape(key), f"<code>{escape(channel['address'])}</code>", where, names)
        )
    operations = [
        _row(
            escape(key),
            escape(operation["action"]),
            escape(operation["channel"]["$ref"].rsplit("/", 1)[-1]),
            escape(operation.get("title", "")),
        )
        for key, operation in document["operations"].items()
    ]
    components = document["components"]
    messages = [
        f"<h3 id='{escape(name)}'>{escape(name)}</h3><p>{escape(message.get('description', ''))}"
        f"</p><pre>{escape(json.dumps(components['schemas'][name], indent=2))}</pre>"
        for name, message in components["messages"].items()
    ]
    security = [
        _row(escape(name), escape(scheme["type"]), escape(scheme.get("description", "")))
        for name, scheme in components["securitySchemes"].items()
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(info["title"])} (AsyncAPI {escape(document["asyncapi"])})</title></head>
<body>
<h1>{escape(info["title"])}</h1>
<p>{escape(info["description"])} Version {escape(info["version"])};
the machine-readable document: <a href="asyncapi.json">asyncapi.json</a>.</p>
<h2>Channels</h2>
<table><tr><th>channel</th><th>address</th><th>where</th><th>messages</th></tr>
{"".join(channels)}</table>
<h2>Operations</h2>
<table><tr><th>operation</th><th>action</th><th>channel</th><th>what</th></tr>
{"".join(operations)}</table>
<h2>Security schemes</h2>
<table><tr><th>scheme</th><th>type</th><th>how</th></tr>{"".join(security)}</table>
<h2>Messages</h2>
{"".join(messages)}
<h2>Schemas</h2>
<pre>{escape(json.dumps(components["schemas"], indent=2))}</pre>
</body></html>
"""
