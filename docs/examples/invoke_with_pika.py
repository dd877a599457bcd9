"""Fire a manual invocation from any AMQP client: here Python's plain `pika`, no project code.

    MTI_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ python invoke_with_pika.py

Publishes one InvokeRequest (contracts/schemas/invoke-request.schema.json) to the invoke
exchange with routing key `invoke`, asks for the answer on RabbitMQ's direct reply-to, and
prints the InvokeResult (contracts/schemas/invoke-result.schema.json).
"""

import json
import os
import sys
import uuid
from datetime import datetime, timezone

import pika

namespace = os.environ.get("MTI_NAMESPACE", "")
prefix = f"{namespace}." if namespace else ""
invocation_id = str(uuid.uuid4())
request = {
    "invocation_id": invocation_id,
    "workflow_id": "wf_demo",
    "trigger_id": "trig_webhook_1",
    "user_id": "demo-user",  # who it runs as: checked against the verified identity below
    "parameters": {"body": {"from": "pika"}, "headers": {"X-Source": "amqp-script"}},
    "description": "Invoked from a plain AMQP client",
    "dry_run": False,
    "requested_at": datetime.now(timezone.utc).isoformat(),  # noqa: UP017 (Python < 3.11 too)
    "source": "amqp",
}

parameters = pika.URLParameters(
    os.environ.get("MTI_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
)
connection = pika.BlockingConnection(parameters)
channel = connection.channel()
channel.confirm_delivery()  # the broker confirms each publish; unroutable raises
answers = []


def on_reply(ch, method, properties, body):
    if properties.correlation_id == invocation_id:
        answers.append(json.loads(body))
        ch.stop_consuming()


# Direct reply-to: consume the pseudo-queue (no-ack) before publishing on the same channel.
channel.basic_consume("amq.rabbitmq.reply-to", on_reply, auto_ack=True)
channel.basic_publish(
    exchange=f"{prefix}manual-trigger.invoke",
    routing_key="invoke",
    body=json.dumps(request),
    properties=pika.BasicProperties(
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=invocation_id,
        correlation_id=invocation_id,
        reply_to="amq.rabbitmq.reply-to",
        # Who sends it: RabbitMQ refuses any user_id but this connection's own broker user, so
        # the worker can trust it (a delegate broker user may act for the body's user_id).
        user_id=parameters.credentials.username,
    ),
    mandatory=True,
)
connection.call_later(10, channel.stop_consuming)  # give up after 10 s
channel.start_consuming()
connection.close()

if not answers:
    sys.exit(f"no answer within 10 s; invocation {invocation_id} stays queued")
result = answers[0]
print(json.dumps(result, indent=2))
sys.exit(0 if result["success"] else 1)
