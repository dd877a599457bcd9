"""The one `Settings` class: read from `MTI_*` environment variables once, at the entry point."""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

import structlog
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topology import Topology
from worker.auth import TokenVerifier

log = structlog.get_logger(__name__)

# The generated development JWT secret, in the per-user config directory: every command finds
# the same one whatever directory it runs in.
DEV_SECRET_NAME = "dev-jwt-secret"  # noqa: S105 -- a file name, not a secret


def default_config_dir() -> Path:
    """`$XDG_CONFIG_HOME/manual-trigger`, else `~/.config/manual-trigger` (XDG Base Directory)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "manual-trigger"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MTI_", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses to start without MTI_JWT_SECRET.",
    )
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/manual_trigger")
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = Field(None, description="PEM; enables RS256 or ES256 tokens.")
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_max_age_seconds: int = Field(
        86_400, ge=60, description="Tokens that live longer (exp - iat) are refused."
    )
    amqp_delegates: str | None = Field(
        None,
        description="Broker users (comma-separated) that may act for the user an invoke "
        "message names: the shim's and the CLI's. Default: `guest` in development, none in "
        "production.",
    )
    amqp_principals: str = Field(
        "",
        description="`broker-user=project-user` pairs (comma-separated): who a broker user "
        "acts as; one not listed acts as the user of its own name.",
    )
    replay_principals: str | None = Field(
        None,
        description="Broker users or token subjects (comma-separated) that may send replays "
        "(`replay_of`). Default: `guest` in development, none in production.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    namespace: str = Field("", pattern=r"^[A-Za-z0-9_-]*$")
    trigger_exchange: str | None = None
    delivery_limit: int = Field(
        5, ge=1, description="Deliveries before a message is dead-lettered."
    )
    prefetch: int = Field(200, ge=1)
    retry_backoff_seconds: float = Field(0.5, gt=0)
    retry_backoff_max_seconds: float = Field(30.0, gt=0)
    reply_timeout_seconds: float = Field(10.0, gt=0)
    progress_bound_seconds: float = Field(
        5.0,
        gt=0,
        description="A broker node that confirms no publish for this long (a partition) is "
        "left for the next node of MTI_AMQP_URL; /readyz fails meanwhile.",
    )
    queued_answer_depth: int = Field(
        2000,
        ge=1,
        description="Invoke requests waiting in the queue past which the shim answers 202 "
        "queued (with where to poll) at once instead of waiting for the worker's reply.",
    )
    rate_limit_per_user_per_minute: int = Field(60, ge=1)
    rate_limit_per_workflow_per_minute: int = Field(600, ge=1)
    cache_fail_open: bool = Field(
        False, description="Redis down: proceed without rate limits and idempotency records."
    )
    invocation_ttl_seconds: int = Field(86_400, ge=60)
    refused_ttl_seconds: int = Field(
        60, ge=1, description="How long a refusal (403, 404, 409, 429) is kept for polling."
    )
    refusal_budget_per_minute: int = Field(
        30, ge=1, description="Refused requests (403/404) per user per minute; then 429."
    )
    shutdown_grace_seconds: float = Field(20.0, ge=0)
    # The stand-in workflow engine (worker/engine.py, role `engine`): how long its pretend run
    # takes, from its taking an execution to `running`, and from `running` to the end.
    engine_start_seconds: float = Field(
        0.3, ge=0, description="Stand-in engine: pending to running after this long."
    )
    engine_run_seconds: float = Field(
        1.0, ge=0, description="Stand-in engine: running to succeeded (or failed) after this."
    )
    metrics_port: int = Field(0, ge=0, description="A port of its own for /metrics; 0 = off.")
    metrics_on_api_port: bool = Field(
        True, description="Also serve /metrics on the API port (false: only on metrics_port)."
    )
    http_header_timeout_seconds: float = Field(
        10.0, gt=0, description="A request's headers must arrive within this (slow clients)."
    )
    http_body_timeout_seconds: float = Field(
        30.0, gt=0, description="A request's body must arrive within this; else 408."
    )
    # The live execution status stream (worker/shim/routes/stream.py, worker/watch.py).
    sse_heartbeat_seconds: float = Field(
        15.0, gt=0, description="A comment line on an idle status stream, this often."
    )
    sse_max_watchers: int = Field(
        10_000, ge=1, description="Open status streams per shim process; past it, 503."
    )
    redis_max_connections: int = Field(
        64, ge=1, description="Redis connections per process; more callers wait for one."
    )
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    config_dir: Path = Field(
        default_factory=default_config_dir,
        description="Per-user files (the development JWT secret).",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated browser origins that may call the API (a page embedding "
        "the panel elsewhere); none by default: the shim serves the panel itself.",
    )
    ui_dir: Path | None = Field(
        None, description="The built panel served at /; default: the checkout's ui/dist."
    )

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def ui_directory(self) -> Path:
        return self.ui_dir or Path(__file__).resolve().parents[1] / "ui" / "dist"

    def _development_default(self, value: str | None) -> frozenset[str]:
        if value is None:
            return frozenset({"guest"} if self.environment == "development" else ())
        return frozenset(name.strip() for name in value.split(",") if name.strip())

    @property
    def delegates(self) -> frozenset[str]:
        return self._development_default(self.amqp_delegates)

    @property
    def replayers(self) -> frozenset[str]:
        return self._development_default(self.replay_principals)

    @property
    def broker_principals(self) -> dict[str, str]:
        pairs = (pair.partition("=") for pair in self.amqp_principals.split(",") if pair.strip())
        return {user.strip(): acts_as.strip() for user, _, acts_as in pairs}

    @property
    def topology(self) -> Topology:
        return Topology(self.namespace, self.trigger_exchange)

    @cached_property
    def jwt_signing_secret(self) -> str | None:
        """The HS256 secret: configured, or in development one generated into `config_dir`.
        In production without it only public-key tokens are accepted."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self.environment == "production":
            return None
        return _development_secret(self.config_dir / DEV_SECRET_NAME)

    def token_verifier(self) -> TokenVerifier:
        """How the shim checks bearer tokens; refuses to start without any key."""
        if self.environment == "production" and not (self.jwt_secret or self.jwt_public_key):
            raise SystemExit(
                "MTI_JWT_SECRET or MTI_JWT_PUBLIC_KEY must be set when MTI_ENVIRONMENT=production"
            )
        return TokenVerifier(
            hmac_secret=self.jwt_signing_secret,
            public_key_pem=self.jwt_public_key,
            audience=self.jwt_audience,
            issuer=self.jwt_issuer,
            max_age_seconds=self.jwt_max_age_seconds,
        )


def _development_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created private: the secret is never readable by others, not even for a moment.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        log.warning("generated a development JWT secret", path=str(path))
    secret = path.read_text().strip()
    # Said every time, with a fingerprint (never the key) so that two processes can be seen
    # to share one: a development secret in use must never go unnoticed.
    log.warning(
        "MTI_JWT_SECRET is not set; using the development secret",
        path=str(path),
        fingerprint=key_fingerprint(secret),
    )
    return secret


def key_fingerprint(secret: str) -> str:
    """The first 16 hex digits of the key's SHA-256: tells keys apart, reveals nothing."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:16]
