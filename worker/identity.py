"""Who sent an invoke message: an identity the worker verifies, never the body's `user_id` alone.

Two proofs, tried in this order:

- a bearer JWT in the message's `authorization` header, verified as the HTTP path verifies
  one (same verifier: pinned algorithms, lifetime, audience and issuer): its subject is the
  user, and the body's `user_id` must be that subject;
- RabbitMQ's validated user-id: the broker refuses a `user_id` property other than the
  publishing connection's own user, so it names the broker user that sent the message. A
  delegate (`MTI_AMQP_DELEGATES`: the shim's and the CLI's broker users) may act for the user
  the body names; any other broker user acts as itself, or as the project user
  `MTI_AMQP_PRINCIPALS` maps it to, and the body must name that user.

A message with neither is refused (`unauthenticated`), and so is a replay (`replay_of`) from a
principal not granted replays (`MTI_REPLAY_PRINCIPALS`). Nothing of a refused message runs.
"""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage

from contracts.models import InvokeRequest
from worker.auth import InvalidToken, TokenVerifier
from worker.settings import Settings

AUTHORIZATION_HEADER = "authorization"


class Unauthenticated(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self._delegates = settings.delegates
        self._replayers = settings.replayers
        self._principals = settings.broker_principals
        try:
            self._verifier: TokenVerifier | None = settings.token_verifier()
        except ValueError:  # no key to verify tokens with: only the broker's identity counts
            self._verifier = None

    def authenticate(self, message: AbstractIncomingMessage, request: InvokeRequest) -> str:
        """The verified principal of this message (a token's subject, or a broker user);
        raises `Unauthenticated` with the reason."""
        principal = self._principal(message, request)
        if request.replay_of is not None and principal not in self._replayers:
            raise Unauthenticated(
                f"{principal!r} may not send replays (replay_of); "
                "replays come from the principals MTI_REPLAY_PRINCIPALS names"
            )
        return principal

    def _principal(self, message: AbstractIncomingMessage, request: InvokeRequest) -> str:
        headers = {str(k).lower(): v for k, v in (message.headers or {}).items()}
        if AUTHORIZATION_HEADER in headers:
            return self._bearer(headers[AUTHORIZATION_HEADER], request)
        broker_user = message.user_id
        if not broker_user:
            raise Unauthenticated(
                "no verifiable identity: send a bearer token in the `authorization` header, "
                "or publish with the `user_id` property (RabbitMQ checks it is your broker user)"
            )
        if broker_user in self._delegates:
            return broker_user
        acts_as = self._principals.get(broker_user, broker_user)
        if request.user_id != acts_as:
            raise Unauthenticated(
                f"broker user {broker_user!r} acts as {acts_as!r}, not as {request.user_id!r} "
                "(only a delegate, MTI_AMQP_DELEGATES, may act for another user)"
            )
        return broker_user

    def _bearer(self, value: object, request: InvokeRequest) -> str:
        text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        scheme, _, token = text.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the `authorization` header must hold `Bearer <token>`")
        if self._verifier is None:
            raise Unauthenticated("this service has no key to verify tokens with")
        try:
            subject = self._verifier.verify(token.strip())
        except InvalidToken:
            raise Unauthenticated("the bearer token was not accepted") from None
        if request.user_id != subject:
            raise Unauthenticated(
                f"user_id {request.user_id!r} is not the token's subject {subject!r}"
            )
        return subject
