"""A fault-injecting TCP proxy between the system and PostgreSQL or Redis.

The suite cuts the network to a shared service here, never by stopping the service (other
work runs on it). `cut()` resets every proxied connection and refuses new ones, as a dead
host or a closed port would; `pause()` holds every byte in both directions, as a network
partition would, until `restore()`; `latency` delays every request on its way to the
service (and a cut drops the ones still delayed).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"amqp": 5672, "postgresql": 5432, "postgres": 5432, "redis": 6379}


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.refusing = False
        self.latency = 0.0
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._flowing.set()
        if self._server is not None:
            self._server.close()
        self._reset_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self) -> None:
        self.refusing = True
        self._reset_all()

    def pause(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        self.refusing = False
        self._flowing.set()

    def _reset_all(self) -> None:
        for client, upstream in list(self._links):
            for writer in (client, upstream):
                with contextlib.suppress(Exception):
                    writer.transport.abort()
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        link = (writer, up_writer)
        self._links.add(link)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer, delayed=True)),
            asyncio.create_task(self._pump(up_reader, writer, delayed=False)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._tasks.difference_update(pumps)
            self._links.discard(link)
            for w in link:
                with contextlib.suppress(Exception):
                    w.transport.abort()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delayed: bool
    ) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                if delayed and self.latency:
                    await asyncio.sleep(self.latency)
                if writer.transport.is_closing():
                    return  # cut meanwhile: what was in flight is lost, as on a real network
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()


def through(url: str, proxy: FaultProxy) -> str:
    """`url` with the proxy's address in place of the service's."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@contextlib.asynccontextmanager
async def proxy_for(url: str) -> AsyncIterator[tuple[FaultProxy, str]]:
    """A started proxy to the service `url` names (the first of a comma-separated list), and
    the URL that goes through it; closed afterwards."""
    first = url.split(",")[0].strip()
    parts = urlsplit(first)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORTS[parts.scheme])
    await proxy.start()
    try:
        yield proxy, through(first, proxy)
    finally:
        await proxy.close()
