"""Bearer JWTs: who is calling. HS256 with the configured secret; `sub` is the user."""

from __future__ import annotations

import time

import jwt

ALGORITHMS = ["HS256"]
LEEWAY_SECONDS = 30


class InvalidToken(Exception):
    """Deliberately without detail: a caller learns only that the token was not accepted."""


def mint_token(secret: str, user_id: str, ttl_seconds: int = 3600) -> str:
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + ttl_seconds}, secret, "HS256")


def verify_token(secret: str, token: str) -> str:
    """The user id of a valid token; raises `InvalidToken` otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=ALGORITHMS,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken
    return subject
