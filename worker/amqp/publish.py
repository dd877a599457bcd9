"""Messages as the service publishes them: JSON, persistent; events mandatory and confirmed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import aio_pika
import aiormq
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
    the event already serialised, when the caller has it). The same frames as
    `exchange.publish(json_message(...))`, without building an aio-pika message per event (the
    worker publishes a batch of them at a time); a nack or a return raises as there."""
    on = cast(aio_pika.Exchange, exchange).channel  # every exchange we get is aio-pika's
    if on.is_closed:
        raise aiormq.exceptions.ChannelInvalidStateError(f"{on!r} closed")
    channel = await on.get_underlay_channel()
    await channel.basic_publish(
        body or event.body(),
        exchange=exchange.name,
        routing_key=event.routing_key(),
        properties=aiormq.spec.Basic.Properties(
            content_type=JSON,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT.value,
            message_id=event.event_id,
            timestamp=datetime.now(UTC),
        ),
        mandatory=True,
    )
