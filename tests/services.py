"""Where the test suite finds RabbitMQ, PostgreSQL and Redis.

The URLs come from the MTI_* environment variables (defaulting to the local services on their
standard ports). Only when a service does not answer and a Docker engine exists does the suite
start a throwaway container for it with testcontainers.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

DEFAULTS = {
    "MTI_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/",
    "MTI_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/manual_trigger",
    "MTI_REDIS_URL": "redis://127.0.0.1:6379/0",
}


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 1.0):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    return Path("/var/run/docker.sock").exists() or "DOCKER_HOST" in os.environ


@contextlib.contextmanager
def _container(variable: str) -> Iterator[str]:
    if variable == "MTI_AMQP_URL":
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as rabbit:
            host, port = rabbit.get_container_host_ip(), rabbit.get_exposed_port(5672)
            yield f"amqp://guest:guest@{host}:{port}/"
    elif variable == "MTI_DATABASE_URL":
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            url = pg.get_connection_url()
            yield url.rsplit("/", 1)[0] + "/manual_trigger"
    else:
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as redis:
            host, port = redis.get_container_host_ip(), redis.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"


@contextlib.contextmanager
def service_urls() -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for variable, default in DEFAULTS.items():
            url = os.environ.get(variable, default)
            if not answers(url):
                if not _docker_available():
                    raise RuntimeError(
                        f"{variable}={url} does not answer and there is no Docker engine: "
                        "start the services (`make services`) or point the variable elsewhere"
                    )
                url = stack.enter_context(_container(variable))
            urls[variable] = url
        yield urls
