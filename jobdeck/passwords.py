"""Password hashing (argon2id, argon2-cffi defaults) and the password policy."""

from __future__ import annotations

import functools

import argon2

from jobdeck import errors

MIN_LENGTH = 8
MAX_LENGTH = 256
#: The commonest passwords, refused outright (ASVS 6.2.4 asks for a larger list; these are the worst).
COMMON = frozenset(
    [
        "password",
        "password1",
        "password123",
        "123456",
        "1234567",
        "12345678",
        "123456789",
        "1234567890",
        "qwerty",
        "qwerty123",
        "qwertyuiop",
        "111111",
        "000000",
        "abc123",
        "letmein",
        "welcome",
        "admin",
        "admin123",
        "iloveyou",
        "monkey",
        "dragon",
        "sunshine",
        "football",
        "baseball",
        "princess",
        "trustno1",
        "passw0rd",
        "changeme",
        "secret",
        "master",
        "shadow",
        "superman",
    ]
)


@functools.cache
def _hasher() -> argon2.PasswordHasher:
    return argon2.PasswordHasher()


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH or len(password) > MAX_LENGTH or password.lower() in COMMON:
        raise errors.WeakPassword()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)
