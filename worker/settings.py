"""The one `Settings` class: read from `MTI_*` environment variables once, at the entry point."""

from __future__ import annotations

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

# Where a development machine keeps its generated JWT secret, relative to the working directory.
DEV_SECRET_FILE = Path(".mti/dev-jwt-secret")


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
    rate_limit_per_user_per_minute: int = Field(60, ge=1)
    rate_limit_per_workflow_per_minute: int = Field(600, ge=1)
    cache_fail_open: bool = Field(
        False, description="Redis down: proceed without rate limits and idempotency records."
    )
    invocation_ttl_seconds: int = Field(86_400, ge=60)
    shutdown_grace_seconds: float = Field(20.0, ge=0)
    metrics_port: int = Field(0, ge=0, description="Worker/scheduler /metrics port; 0 = off.")
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
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

    @property
    def topology(self) -> Topology:
        return Topology(self.namespace, self.trigger_exchange)

    @cached_property
    def jwt_signing_secret(self) -> str | None:
        """The HS256 secret: configured, or in development one generated into `.mti/`.
        In production without it only public-key tokens are accepted."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self.environment == "production":
            return None
        return _development_secret()

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
        )


def _development_secret() -> str:
    path = DEV_SECRET_FILE.resolve()
    if not DEV_SECRET_FILE.exists():
        DEV_SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEV_SECRET_FILE.write_text(secrets.token_urlsafe(48))
        DEV_SECRET_FILE.chmod(0o600)
        log.warning("generated a development JWT secret", path=str(path))
    # Said every time: a development secret in use must never go unnoticed.
    log.warning("MTI_JWT_SECRET is not set; using the development secret", path=str(path))
    return DEV_SECRET_FILE.read_text().strip()
