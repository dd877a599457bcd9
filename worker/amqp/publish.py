"""Messages as the service publishes them: JSON, persistent; events mandatory and confirmed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractExchange

from contracts.models import TriggerEvent
from worker.amqp.connection import ClosedUnderneath, close_soon, is_blocked

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


def json_properties(
    message_id: str,
    *,
    correlation_id: str | None = None,
    reply_to: str | None = None,
    user_id: str | None = None,
) -> aiormq.spec.Basic.Properties:
    """`json_message`'s properties, for aiormq's own publish (no aio-pika message to build)."""
    return aiormq.spec.Basic.Properties(
        content_type=JSON,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT.value,
        message_id=message_id,
        correlation_id=correlation_id,
        reply_to=reply_to,
        timestamp=datetime.now(UTC),
        user_id=user_id,
    )


async def publish_events(
    exchange: AbstractExchange,
    events: list[tuple[TriggerEvent, bytes | None]],
    confirm_timeout: float | None = None,
) -> list[BaseException | None]:
    """Publish onto the trigger events exchange with every confirm in flight together, and
    wait for them with one timer: for each event (`body`: already serialised, when the caller
    has it), None once the broker confirmed it, else why not. The same frames as
    `exchange.publish(json_message(...))`, without building an aio-pika message per event; a
    nack or a return fails its event as it would there.

    Confirms that do not come within `confirm_timeout` close the channel and fail their
    events: a channel that published to a quorum queue whose leader was cut off waits for
    that leader for ever (RabbitMQ 3.x), so its consumer starts afresh on a new channel, and
    what it held is delivered again (the event ids keep that exactly-once). Not while a
    resource alarm blocks the connection: then they wait for the alarm to clear, as every
    publisher of the cluster does, rather than spend the delivery limit of what the consumer
    holds. A confirm that aiormq ends because the connection closed under it is a broker
    failure (`ClosedUnderneath`), as `as_broker_failure` makes it for a single wait."""
    on = cast(aio_pika.Exchange, exchange).channel  # every exchange we get is aio-pika's
    if on.is_closed:
        return [aiormq.exceptions.ChannelInvalidStateError(f"{on!r} closed")] * len(events)
    channel = await on.get_underlay_channel()
    confirmations = [
        asyncio.ensure_future(_publish(channel, exchange.name, event, body))
        for event, body in events
    ]
    pending: set[asyncio.Future[object]] = set(confirmations)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=confirm_timeout)
        if pending and not is_blocked(channel.connection):
            break
    for confirmation in pending:
        confirmation.cancel()
    if pending:
        close_soon(on)
    late = aiormq.exceptions.ChannelInvalidStateError(
        f"no confirm within {confirm_timeout} s: {on!r} closed for a fresh one"
    )
    closed = ClosedUnderneath("the broker connection was closed under this publish")
    return [
        late
        if confirmation in pending
        else closed
        if confirmation.cancelled()
        else confirmation.exception()
        for confirmation in confirmations
    ]


async def _publish(
    channel: aiormq.abc.AbstractChannel, exchange: str, event: TriggerEvent, body: bytes | None
) -> object:
    return await channel.basic_publish(
        body or event.body(),
        exchange=exchange,
        routing_key=event.routing_key(),
        properties=json_properties(event.event_id),
        mandatory=True,
    )
