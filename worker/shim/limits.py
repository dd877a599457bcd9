"""Bounds on what a client may make the server hold: body size, and time to send a request.

A body over the size limit is refused with 413 before it is parsed or kept; the rest of it is
read and dropped (up to a bound) before answering, since a client still sending when the
server closes would see a reset instead of the 413. A body that does not arrive within its
deadline is refused with 408, and a request whose headers do not arrive within theirs has
its connection closed: a slow client cannot hold a connection, and its memory, forever.
"""

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

TOO_LARGE = b'{"type":"about:blank","title":"Body too large","status":413,"errors":[]}'
TOO_SLOW = b'{"type":"about:blank","title":"Request body too slow","status":408,"errors":[]}'


def _uvicorn_protocol() -> type[Any]:
    """The HTTP/1.1 protocol uvicorn itself would pick: httptools' C parser where installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return H11Protocol
    return HttpToolsProtocol


def header_deadline(seconds: float) -> type[Any]:
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers (uvicorn has
    none: a client sending a header byte now and then would hold its connection forever).
    Both of uvicorn's protocols keep the request in `cycle` once its headers are parsed."""
    base = _uvicorn_protocol()

    class HeaderDeadline(base):  # type: ignore[valid-type,misc]
        _deadline: asyncio.TimerHandle | None = None

        def _waiting_for_headers(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self._waiting_for_headers() and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._waiting_for_headers():
                self._arm()  # the next request of a kept-alive connection starts its clock
            super().data_received(data)
            if not self._waiting_for_headers():
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderDeadline


class BodySizeLimit:
    """Pure ASGI middleware: checks Content-Length up front, counts streamed bytes, and holds
    the body to a deadline."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._drain(receive)
            await self._refuse(send, 413, TOO_LARGE)
            return
        received = 0
        started = False
        more_body = True
        deadline = time.monotonic() + self.timeout

        async def counting_receive() -> Message:
            nonlocal received, more_body
            if not more_body:
                # The body is in: what a receive waits for now is the client's disconnect,
                # which a streamed response (the status stream) awaits for as long as it lasts.
                return await receive()
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    message = await receive()
            except TimeoutError:
                raise _TooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                more_body = message.get("more_body", False)
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                if more_body:
                    await self._drain(receive)
                await self._refuse(send, 413, TOO_LARGE)
        except _TooSlow:
            if not started:
                await self._refuse(send, 408, TOO_SLOW)

    async def _drain(self, receive: Receive) -> None:
        dropped = 0
        while dropped <= 4 * self.max_bytes:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return
            dropped += len(message.get("body", b""))

    @staticmethod
    async def _refuse(send: Send, status: int, problem: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(problem)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": problem})


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass
