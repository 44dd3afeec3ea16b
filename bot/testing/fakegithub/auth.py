"""Who is calling: the app (a JWT signed with its private key) or an installation (a token).

JWTs are checked against the wall clock, because clients sign them with ``time.time()``
(gidgethub does); installation tokens expire by the fake's injected ``now``, so a test can move
time past an expiry.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from bot.testing.fakegithub.shapes import client_id

TOKEN_LIFETIME = dt.timedelta(hours=1)
JWT_LONGEST_LIFETIME = 600  # seconds: GitHub refuses an `exp` more than ten minutes ahead
JWT_LEEWAY = 60
_ALPHABET = string.ascii_letters + string.digits


class AuthError(Exception):
    """A refused credential: answered 401 with GitHub's message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class InstallationToken:
    token: str
    installation_id: int
    app_id: int
    expires_at: dt.datetime
    repository_ids: frozenset[int] | None = None  # None: every repository of the installation
    revoked: bool = False


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the app itself, an installation, or nobody."""

    kind: str  # "app", "installation" or "anonymous"
    installation_id: int | None = None
    repository_ids: frozenset[int] | None = None
    app_id: int | None = None  # the app calling, or the app of the installation


ANONYMOUS = Caller("anonymous")


def credential(authorization: str | None) -> tuple[str, str] | None:
    """``(scheme, value)`` from an Authorization header, the scheme lower-cased."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return (scheme.lower(), value.strip()) if value.strip() else None


class Credentials:
    """Verifies app JWTs, mints installation tokens and recognises them.

    The fake's own app is known from the start; an app made by the manifest flow is added with
    :meth:`add_app` and may then sign JWTs with the private key GitHub handed out for it.
    """

    def __init__(
        self,
        *,
        app_id: int,
        public_key_pem: bytes | str,
        now: Callable[[], dt.datetime],
        wall_clock: Callable[[], float] = time.time,
    ):
        self.app_id = app_id
        self._public_keys: dict[int, bytes] = {}
        self._client_ids: dict[str, int] = {}
        self._now = now
        self._wall_clock = wall_clock
        self._tokens: dict[str, InstallationToken] = {}
        self.add_app(app_id, public_key_pem)

    def add_app(self, app_id: int, public_key_pem: bytes | str) -> None:
        key = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        self._public_keys[app_id] = key
        self._client_ids[client_id(app_id)] = app_id

    # the app -------------------------------------------------------------------------------------
    def app(self, authorization: str | None) -> Caller:
        """The app, if the header carries a JWT it signed; otherwise AuthError."""
        found = credential(authorization)
        if found is None or found[0] != "bearer":
            raise AuthError("A JSON web token could not be decoded")
        app_id = self._issuer(found[1])
        primary = self._public_keys[self.app_id]
        key = primary if app_id is None else self._public_keys.get(app_id, primary)
        claims = self._claims(found[1], key)
        if app_id is None or app_id not in self._public_keys:
            raise AuthError("'Issuer' claim ('iss') must be the ID of this GitHub App")
        if claims["exp"] - self._wall_clock() > JWT_LONGEST_LIFETIME + JWT_LEEWAY:
            raise AuthError("'Expiration time' claim ('exp') is too far in the future")
        return Caller("app", app_id=app_id)

    def _issuer(self, token: str) -> int | None:
        """The app a JWT claims to come from (``iss``: its id or its client id), unverified."""
        try:
            claimed = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return None
        if isinstance(claimed, str) and claimed in self._client_ids:
            return self._client_ids[claimed]
        try:
            return int(str(claimed))
        except ValueError:
            return None

    def _claims(self, token: str, public_key: bytes) -> dict:
        try:
            return jwt.decode(
                token,
                public_key,
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "iss"], "verify_iat": True},
                leeway=JWT_LEEWAY,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
            ) from None
        except jwt.ImmatureSignatureError:
            raise AuthError(
                "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
            ) from None
        except jwt.PyJWTError:
            raise AuthError("A JSON web token could not be decoded") from None

    # installations -------------------------------------------------------------------------------
    def mint(
        self, installation_id: int, *, app_id: int, repositories: set[int] | None = None
    ) -> InstallationToken:
        token = InstallationToken(
            token="ghs_" + "".join(secrets.choice(_ALPHABET) for _ in range(36)),
            installation_id=installation_id,
            app_id=app_id,
            expires_at=self._now() + TOKEN_LIFETIME,
            repository_ids=None if repositories is None else frozenset(repositories),
        )
        self._tokens[token.token] = token
        return token

    def installation(self, authorization: str | None) -> Caller:
        """The installation whose live token the header carries; otherwise AuthError."""
        found = credential(authorization)
        if found is None:
            raise AuthError("Requires authentication")
        scheme, value = found
        token = self._tokens.get(value) if scheme in ("token", "bearer") else None
        if token is None or token.revoked or token.expires_at <= self._now():
            raise AuthError("Bad credentials")
        return Caller("installation", token.installation_id, token.repository_ids, token.app_id)

    def expire_all(self) -> None:
        for token in self._tokens.values():
            token.revoked = True

    def issued(self) -> list[str]:
        return list(self._tokens)
