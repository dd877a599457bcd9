"""Bearer JWTs: who is calling.

Algorithms are pinned: HS256 with `MTI_JWT_SECRET`, and RS256 or ES256 with
`MTI_JWT_PUBLIC_KEY` (the key's type decides which). A token's own `alg` header only selects
among the configured ones, so `alg: none` and HS256 signed with the public key are refused.
`exp` and `sub` are required; `nbf` and `iat` are honoured with a small leeway; `aud` and
`iss` are checked when configured; a token may live at most `MTI_JWT_MAX_AGE_SECONDS`.
A refused token learns nothing of why, but one: a token of ours whose time is up
(`ExpiredToken`), so that a client knows to get a new one rather than suspect its code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import StrictStr, TypeAdapter, ValidationError

from contracts.models import UserId

LEEWAY_SECONDS = 30
DEFAULT_MAX_AGE_SECONDS = 86_400
VERIFIED_TOKENS_KEPT = 4096
USER_ID: TypeAdapter[str] = TypeAdapter(Annotated[UserId, StrictStr])


class InvalidToken(Exception):
    """Deliberately without detail: a caller learns only that the token was not accepted."""


class ExpiredToken(InvalidToken):
    """A token that is ours (its signature verified, its claims as required) but expired."""


def mint_token(secret: str, user_id: str, ttl_seconds: int = 3600, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": user_id, "iat": now, "exp": now + ttl_seconds, **claims}
    return jwt.encode(payload, secret, "HS256")


@dataclass(frozen=True)
class TokenVerifier:
    hmac_secret: str | None = None
    public_key_pem: str | None = None
    audience: str | None = None
    issuer: str | None = None
    # No token may live longer than this (exp - iat, or exp - now without iat): a leaked
    # long-lived token would otherwise be good for years.
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS

    def __post_init__(self) -> None:
        if not self.hmac_secret and not self.public_key_pem:
            raise ValueError("a JWT secret or public key is needed to verify tokens")

    @cached_property  # a public key is parsed once, not on every request
    def _keys(self) -> dict[str, Any]:
        """Accepted algorithm -> verification key."""
        keys: dict[str, Any] = {}
        if self.hmac_secret:
            keys["HS256"] = self.hmac_secret
        if self.public_key_pem:
            key = load_pem_public_key(self.public_key_pem.encode())
            if isinstance(key, rsa.RSAPublicKey):
                keys["RS256"] = key
            elif isinstance(key, ec.EllipticCurvePublicKey):
                keys["ES256"] = key
            else:
                raise ValueError("MTI_JWT_PUBLIC_KEY must be an RSA or EC public key")
        return keys

    # Tokens verified before, by their exact text, with their expiry: a client sends the same
    # token with every request, and verifying it afresh (parsing it, its HMAC or signature,
    # its claims) cost a twentieth of the shim's CPU per request. Nothing a verification
    # judged can change for the same text and keys but the clock, so expiry is judged again.
    _verified: dict[str, tuple[str, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def verify(self, token: str) -> str:
        """The user id of a valid token; raises `InvalidToken` otherwise."""
        known = self._verified.get(token)
        if known is None:
            known = self._verified_afresh(token)
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]  # the longest kept
            self._verified[token] = known
        user_id, expires = known
        if time.time() >= expires + LEEWAY_SECONDS:  # as PyJWT judges `exp`
            self._verified.pop(token, None)
            raise ExpiredToken
        return user_id

    def _verified_afresh(self, token: str) -> tuple[str, int]:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            key = self._keys.get(str(algorithm))
            if key is None:
                raise InvalidToken
            required = ["exp", "sub"] + ["aud"] * bool(self.audience) + ["iss"] * bool(self.issuer)
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError as exc:  # checked only once the signature verified
            raise ExpiredToken from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken from exc
        issued = claims.get("iat")
        start = issued if isinstance(issued, int | float) else time.time()
        if claims["exp"] - start > self.max_age_seconds + LEEWAY_SECONDS:
            raise InvalidToken
        subject = claims.get("sub")
        # A subject the system cannot hold as a user id (empty, too long, NUL, half a
        # surrogate pair) is no identity at all.
        try:
            return USER_ID.validate_python(subject), int(claims["exp"])  # as PyJWT reads it
        except ValidationError:
            raise InvalidToken from None
