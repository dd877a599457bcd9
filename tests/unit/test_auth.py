"""Bearer tokens: pinned algorithms, required claims, no detail on refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, cast

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from worker import auth
from worker.auth import ExpiredToken, InvalidToken, TokenVerifier, mint_token
from worker.resources import Resources
from worker.settings import Settings
from worker.shim.app import create_app

SECRET = "unit-secret-" + "y" * 40
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "alice", "iat": now, "exp": now + 300, **extra}


def test_hs256_token_verifies_to_its_user() -> None:
    assert TokenVerifier(SECRET).verify(mint_token(SECRET, "alice")) == "alice"


@pytest.mark.parametrize(("key", "algorithm"), [(RSA_KEY, "RS256"), (EC_KEY, "ES256")])
def test_public_key_tokens_verify(key: Any, algorithm: str) -> None:
    verifier = TokenVerifier(public_key_pem=public_pem(key))
    assert verifier.verify(jwt.encode(claims(), key, algorithm)) == "alice"


def test_audience_and_issuer_are_checked_when_configured() -> None:
    verifier = TokenVerifier(SECRET, audience="mti", issuer="https://idp.example.com")
    good = jwt.encode(claims(aud="mti", iss="https://idp.example.com"), SECRET, "HS256")
    assert verifier.verify(good) == "alice"
    for bad in (
        claims(aud="other", iss="https://idp.example.com"),
        claims(aud="mti", iss="https://evil.example.com"),
        claims(),
    ):
        with pytest.raises(InvalidToken):
            verifier.verify(jwt.encode(bad, SECRET, "HS256"))


def refused() -> list[tuple[str, TokenVerifier, str]]:
    hs = TokenVerifier(SECRET)
    both = TokenVerifier(SECRET, public_key_pem=public_pem(RSA_KEY))
    rsa_only = TokenVerifier(public_key_pem=public_pem(RSA_KEY))
    now = int(time.time())
    unsigned = jwt.encode(claims(), None, "none")
    # Algorithm confusion: HS256 "signed" with the RSA public key as the HMAC secret.
    header, payload = jwt.encode(claims(), "x" * 40, "HS256").split(".")[:2]
    forged = (
        base64.urlsafe_b64encode(
            hmac.new(
                public_pem(RSA_KEY).encode(), f"{header}.{payload}".encode(), hashlib.sha256
            ).digest()
        )
        .decode()
        .rstrip("=")
    )
    return [
        ("alg-none", hs, unsigned),
        ("alg-none-public-key", rsa_only, unsigned),
        ("hs256-with-public-key", rsa_only, f"{header}.{payload}.{forged}"),
        ("hs256-with-public-key-both", both, f"{header}.{payload}.{forged}"),
        ("expired", hs, jwt.encode(claims(exp=now - 3600), SECRET, "HS256")),
        ("no-exp", hs, jwt.encode({"sub": "alice"}, SECRET, "HS256")),
        ("no-sub", hs, jwt.encode({"exp": now + 60}, SECRET, "HS256")),
        ("not-yet-valid", hs, jwt.encode(claims(nbf=now + 3600), SECRET, "HS256")),
        ("issued-in-the-future", hs, jwt.encode(claims(iat=now + 3600), SECRET, "HS256")),
        ("wrong-secret", hs, jwt.encode(claims(), "another-" * 6, "HS256")),
        ("rs256-without-key", hs, jwt.encode(claims(), RSA_KEY, "RS256")),
        (
            "other-rsa-key",
            rsa_only,
            jwt.encode(
                claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"
            ),
        ),
        ("hs512", hs, jwt.encode(claims(), SECRET * 2, "HS512")),
        ("garbage", hs, "not.a.token"),
        ("empty", hs, ""),
    ]


REFUSED = refused()


@pytest.mark.parametrize(
    ("verifier", "token"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_bad_tokens_are_refused_without_detail(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(InvalidToken) as exc:
        verifier.verify(token)
    assert str(exc.value) == ""


def test_small_clock_skew_is_tolerated() -> None:
    now = int(time.time())
    token = jwt.encode(claims(nbf=now + 10, iat=now + 10), SECRET, "HS256")
    assert TokenVerifier(SECRET).verify(token) == "alice"


def test_a_verifier_needs_a_key() -> None:
    with pytest.raises(ValueError, match="secret or public key"):
        TokenVerifier()


@pytest.mark.parametrize(
    "subject",
    ["a\x00b", "x" * 257, "\ud800", "", 42, None, ["alice"]],
    ids=["nul", "too-long", "surrogate", "empty", "number", "null", "list"],
)
def test_a_subject_the_system_cannot_hold_is_no_identity(subject: Any) -> None:
    token = jwt.encode(claims(sub=subject), SECRET, "HS256")
    with pytest.raises(InvalidToken):
        TokenVerifier(SECRET).verify(token)


def test_the_longest_subject_the_system_holds_is_fine() -> None:
    token = jwt.encode(claims(sub="u" * 256), SECRET, "HS256")
    assert TokenVerifier(SECRET).verify(token) == "u" * 256


def test_tokens_living_longer_than_the_maximum_are_refused() -> None:
    verifier = TokenVerifier(SECRET, max_age_seconds=3600)
    now = int(time.time())
    assert verifier.verify(jwt.encode(claims(exp=now + 3600), SECRET, "HS256")) == "alice"
    for too_long in (
        claims(exp=now + 3 * 3600),  # iat now, lives 3 h
        {"sub": "alice", "exp": now + 10 * 86_400},  # no iat: judged from now
        claims(iat=now - 86_400, exp=now + 60),  # short-lived from now, long from its iat
    ):
        with pytest.raises(InvalidToken):
            verifier.verify(jwt.encode(too_long, SECRET, "HS256"))


def test_only_an_expired_token_of_ours_is_told_it_expired() -> None:
    now = int(time.time())
    verifier = TokenVerifier(SECRET)
    with pytest.raises(ExpiredToken):
        verifier.verify(jwt.encode(claims(exp=now - 3600), SECRET, "HS256"))
    # Expired too, but not ours, or not what we accept anyway: just invalid
    for token in (
        jwt.encode(claims(exp=now - 3600), "another-" * 6, "HS256"),
        jwt.encode(claims(exp=now - 3600), None, "none"),
        jwt.encode({"exp": now - 3600}, SECRET, "HS256"),  # no subject
    ):
        with pytest.raises(InvalidToken) as exc:
            verifier.verify(token)
        assert not isinstance(exc.value, ExpiredToken)
    refused_otherwise = [(v, t) for name, v, t in REFUSED if name != "expired"]
    for other, token in refused_otherwise:
        with pytest.raises(InvalidToken) as exc:
            other.verify(token)
        assert not isinstance(exc.value, ExpiredToken)


async def unauthorized(headers: dict[str, str]) -> httpx.Response:
    """The shim's answer to a read with these headers (it is refused before any I/O)."""
    app = create_app(
        Resources(Settings(jwt_secret=SECRET), *(cast(Any, None),) * 3), cast(Any, None)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://shim"
    ) as client:
        return await client.get("/api/v1/workflows", headers=headers)


@pytest.mark.parametrize(
    ("headers", "detail", "challenge"),
    [
        ({}, "invalid token", "Bearer"),
        ({"Authorization": "Basic ZGVtbzpkZW1v"}, "invalid token", "Bearer"),
        ({"Authorization": "Bearer not.a.token"}, "invalid token", 'Bearer error="invalid_token"'),
        (
            {"Authorization": f"Bearer {mint_token(SECRET, 'alice', ttl_seconds=-120)}"},
            "token expired",
            'Bearer error="invalid_token", error_description="The token expired"',
        ),
        (
            {"Authorization": f"Bearer {mint_token('another-' * 6, 'alice', ttl_seconds=-120)}"},
            "invalid token",
            'Bearer error="invalid_token"',
        ),
    ],
    ids=["none", "basic", "garbage", "expired", "expired-not-ours"],
)
async def test_the_shim_tells_an_expired_token_from_an_invalid_one(
    headers: dict[str, str], detail: str, challenge: str
) -> None:
    response = await unauthorized(headers)
    assert response.status_code == 401
    assert response.json()["detail"] == detail
    assert response.headers["www-authenticate"] == challenge


def test_a_token_verified_before_is_known_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(SECRET)
    now = int(time.time())
    token = jwt.encode(claims(exp=now + 60), SECRET, "HS256")
    assert verifier.verify(token) == "alice"
    decoded: list[str] = []
    monkeypatch.setattr(jwt, "decode", lambda *args, **kwargs: decoded.append("again"))
    assert verifier.verify(token) == "alice"
    assert decoded == []  # known by its text: not parsed, nor its signature checked, again
    # Its expiry is judged on every use, as PyJWT judges it (with the leeway).
    monkeypatch.setattr(time, "time", lambda: now + 60 + auth.LEEWAY_SECONDS)
    with pytest.raises(ExpiredToken):
        verifier.verify(token)
    assert token not in verifier._verified


def test_refused_tokens_are_not_kept_and_the_kept_ones_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier(SECRET)
    with pytest.raises(InvalidToken):
        verifier.verify(jwt.encode(claims(), "another-" * 6, "HS256"))
    assert verifier._verified == {}
    monkeypatch.setattr(auth, "VERIFIED_TOKENS_KEPT", 3)
    tokens = [jwt.encode(claims(sub=f"u{i}"), SECRET, "HS256") for i in range(5)]
    assert [verifier.verify(t) for t in tokens] == [f"u{i}" for i in range(5)]
    assert list(verifier._verified) == tokens[2:]  # the latest three
