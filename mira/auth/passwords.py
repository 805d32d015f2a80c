"""Password hashing with scrypt (werkzeug), cost chosen by configuration."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

# Verifying against this keeps a login for an unknown email as slow as one for a known email.
_DUMMY_HASHES: dict[str, str] = {}


def hash_password(password: str, method: str) -> str:
    return generate_password_hash(password, method=method)


def verify_password(stored_hash: str | None, password: str, method: str) -> bool:
    if not stored_hash:
        dummy = _DUMMY_HASHES.setdefault(method, generate_password_hash("-", method=method))
        check_password_hash(dummy, password)
        return False
    return check_password_hash(stored_hash, password)
