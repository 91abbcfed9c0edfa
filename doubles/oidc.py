"""A local OpenID Connect provider (an organization's Entra ID, Keycloak or Okta), for single sign-on.

It speaks the authorization code flow as those providers do, so the sign-in exercises allauth's real
client code: discovery (`/.well-known/openid-configuration`), the authorization endpoint, the token
endpoint (client authentication by HTTP Basic or in the form, single-use codes bound to their
redirect URI, PKCE with S256), ID tokens signed with RS256 under a key published at the JWKS endpoint,
and userinfo with the access token.

The authorization endpoint asks nobody anything: it consents at once as `user` (a dict of claims,
`sub` among them) and sends the browser back with a code and the `state` it was given. Tests change
`user` to sign in as someone else, and `id_token_overrides` to tamper with the next ID tokens (a wrong
`nonce`, another `aud`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from doubles.server import DoubleServer, Request, Response

TOKEN_LIFETIME = 300  # seconds an ID token and an access token are valid
CODE_LIFETIME = 60  # seconds a code may wait for its exchange


@dataclasses.dataclass(frozen=True)
class Grant:
    """What an authorization code stands for until it is exchanged (once)."""

    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    claims: dict[str, Any]
    issued_at: float


def _form(request: Request) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.body.decode()).items() if values}


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description}, {"Cache-Control": "no-store"})


class OidcDouble(DoubleServer):
    platform = "oidc"

    def __init__(self, *, client_id: str, client_secret: str, user: dict[str, Any]) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.user = user
        self.id_token_overrides: dict[str, Any] = {}
        self.issued: list[dict[str, Any]] = []  # every token response, so tests can look for leaks
        self.kid = f"double-{secrets.token_hex(4)}"
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._codes: dict[str, Grant] = {}
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self.route("GET", r"/\.well-known/openid-configuration", self.discovery)
        self.route("GET", r"/authorize", self.authorize)
        self.route("POST", r"/token", self.token)
        self.route("GET", r"/jwks", self.jwks)
        self.route("GET", r"/userinfo", self.userinfo)

    @property
    def issuer(self) -> str:
        return self.url

    # -- endpoints ----------------------------------------------------------------------------------
    def discovery(self, request: Request) -> Response:
        return Response(
            200,
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "name", "email", "email_verified", *sorted(self.user)],
            },
        )

    def authorize(self, request: Request) -> Response:
        # An unknown client or a missing redirect URI is never redirected to (the provider's own error page).
        redirect_uri = request.arg("redirect_uri")
        if request.arg("client_id") != self.client_id or not redirect_uri.startswith(("http://", "https://")):
            return _oauth_error(400, "invalid_request", "unknown client or redirect_uri")
        state = request.arg("state")
        back = {"state": state} if state else {}
        if request.arg("response_type") != "code":
            return self._redirect(redirect_uri, {"error": "unsupported_response_type", **back})
        scope = request.arg("scope")
        if "openid" not in scope.split():
            return self._redirect(redirect_uri, {"error": "invalid_scope", **back})
        challenge = request.arg("code_challenge")
        if challenge and request.arg("code_challenge_method") != "S256":
            return self._redirect(redirect_uri, {"error": "invalid_request", **back})
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                scope=scope,
                nonce=request.arg("nonce"),
                code_challenge=challenge,
                claims=dict(self.user),
                issued_at=time.time(),
            )
        return self._redirect(redirect_uri, {"code": code, **back})

    def token(self, request: Request) -> Response:
        form = _form(request)
        client_id, client_secret = self._client_credentials(request, form)
        if client_id != self.client_id or not secrets.compare_digest(client_secret, self.client_secret):
            return _oauth_error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "only authorization_code")
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # single use, whatever happens next
        if grant is None or time.time() - grant.issued_at > CODE_LIFETIME:
            return _oauth_error(400, "invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request")
        if grant.code_challenge and not self._pkce_holds(grant.code_challenge, form.get("code_verifier", "")):
            return _oauth_error(400, "invalid_grant", "PKCE verification failed")
        access_token = secrets.token_urlsafe(32)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": grant.scope,
            "id_token": self.id_token(grant),
        }
        with self._lock:
            self._access_tokens[access_token] = grant.claims
            self.issued.append(body)
        return Response(200, body, {"Cache-Control": "no-store"})

    def jwks(self, request: Request) -> Response:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return Response(200, {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]})

    def userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            claims = self._access_tokens.get(token) if scheme.lower() == "bearer" else None
        if claims is None:
            return Response(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return Response(200, claims)

    # -- helpers --------------------------------------------------------------------------------------
    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            **grant.claims,
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "auth_time": now,
            "jti": secrets.token_urlsafe(12),
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **self.id_token_overrides,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def _client_credentials(self, request: Request, form: dict[str, str]) -> tuple[str, str]:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                return "", ""
            return client_id, secret
        return form.get("client_id", ""), form.get("client_secret", "")

    @staticmethod
    def _pkce_holds(challenge: str, verifier: str) -> bool:
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        return bool(verifier) and secrets.compare_digest(digest, challenge)

    @staticmethod
    def _redirect(url: str, params: dict[str, str]) -> Response:
        return Response(302, b"", {"Location": _with_query(url, params), "Content-Type": "text/plain"})
