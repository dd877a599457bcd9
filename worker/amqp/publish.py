"""Messages as the service publishes them: JSON, persistent; events mandatory and confirmed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractExchange

from contracts.models import TriggerEvent
from worker.amqp.connection import as_broker_failure, close_soon, is_blocked

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
    exchange: AbstractExchange,
    event: TriggerEvent,
    body: bytes | None = None,
    confirm_timeout: float | None = None,
) -> None:
    """Publish onto the trigger events exchange and wait for the broker's confirm (`body`:
    the event already serialised, when the caller has it). The same frames as
    `exchange.publish(json_message(...))`, without building an aio-pika message per event (the
    worker publishes a batch of them at a time); a nack or a return raises as there.

    A confirm that does not come within `confirm_timeout` closes the channel and raises: a
    channel that published to a quorum queue whose leader was cut off waits for that leader
    for ever (RabbitMQ 3.x), so its consumer starts afresh on a new channel, and what it held
    is delivered again (the event ids keep that exactly-once). Not while a resource alarm
    blocks the connection: then the publish waits for the alarm to clear, as every publisher
    of the cluster does, rather than spend the delivery limit of what the consumer holds."""
    on = cast(aio_pika.Exchange, exchange).channel  # every exchange we get is aio-pika's
    if on.is_closed:
        raise aiormq.exceptions.ChannelInvalidStateError(f"{on!r} closed")
    channel = await on.get_underlay_channel()
    confirmation = asyncio.ensure_future(_publish(channel, exchange.name, event, body))
    while True:
        try:
            with as_broker_failure():
                await asyncio.wait_for(asyncio.shield(confirmation), confirm_timeout)
            return
        except TimeoutError:
            if is_blocked(channel.connection):
                continue
            confirmation.cancel()
            close_soon(on)
            raise aiormq.exceptions.ChannelInvalidStateError(
                f"no confirm within {confirm_timeout} s: {on!r} closed for a fresh one"
            ) from None


async def _publish(
    channel: aiormq.abc.AbstractChannel, exchange: str, event: TriggerEvent, body: bytes | None
) -> object:
    return await channel.basic_publish(
        body or event.body(),
        exchange=exchange,
        routing_key=event.routing_key(),
        properties=aiormq.spec.Basic.Properties(
            content_type=JSON,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT.value,
            message_id=event.event_id,
            timestamp=datetime.now(UTC),
        ),
        mandatory=True,
    )
