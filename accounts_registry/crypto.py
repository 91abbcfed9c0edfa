"""Encryption at rest for platform credentials (Fernet, keys from CHORUS_FERNET_KEYS, newest first).

Plaintext credentials exist only in memory, only for as long as a connector needs them.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialsUnavailable(Exception):
    """Stored credentials cannot be decrypted with the configured keys (a key was removed too early)."""


def _fernet() -> MultiFernet:
    keys = settings.FERNET_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "CHORUS_FERNET_KEYS is empty: set it to one or more Fernet keys (newest first) to store credentials. "
            "Generate one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(f"CHORUS_FERNET_KEYS holds a malformed key: {error}") from error


def encrypt_credentials(credentials: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def decrypt_credentials(ciphertext: str) -> dict[str, Any]:
    if not ciphertext:
        return {}
    try:
        value = json.loads(_fernet().decrypt(ciphertext.encode()))
    except InvalidToken as error:
        raise CredentialsUnavailable("no configured key decrypts these credentials") from error
    if not isinstance(value, dict):
        raise CredentialsUnavailable("stored credentials are not an object")
    return value


def rotate_ciphertext(ciphertext: str) -> str:
    """Re-encrypt under the newest key. Raises CredentialsUnavailable if no key decrypts it."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise CredentialsUnavailable("no configured key decrypts these credentials") from error
