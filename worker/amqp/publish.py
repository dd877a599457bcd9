"""Messages as the service publishes them: JSON, persistent; events mandatory and confirmed."""

from __future__ import annotations

from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractExchange

from contracts.models import TriggerEvent

JSON = "application/json"


def json_message(
    body: bytes,
    *,
    message_id: str,
    correlation_id: str | None = None,
    reply_to: str | None = None,
    user_id: str | None = None,
) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        content_type=JSON,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        correlation_id=correlation_id,
        reply_to=reply_to,
        timestamp=datetime.now(UTC),
        user_id=user_id,
    )


async def publish_event(
    exchange: AbstractExchange, event: TriggerEvent, body: bytes | None = None
) -> None:
    """Publish onto the trigger events exchange and wait for the broker's confirm (`body`:
    the event already serialised, when the caller has it)."""
    await exchange.publish(
        json_message(body or event.body(), message_id=event.event_id),
        routing_key=event.routing_key(),
        mandatory=True,
    )
