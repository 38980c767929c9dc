"""Password hashing with scrypt, a key derivation function from the standard library.

A stored hash names its algorithm and cost parameters, then the random salt and the
derived key, so the cost can be raised later without breaking older hashes::

    scrypt$16384$8$1$<salt, base64>$<key, base64>

Hashing is deliberately slow (tens of milliseconds) and would stall the event loop,
so the views call it through :func:`aiopyramid.helpers.use_executor`.
"""

import base64
import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1
"""scrypt's cost parameters: CPU and memory (16 MiB), block size, parallelism."""
SALT_BYTES = 16
KEY_BYTES = 32


def hash_password(password: str) -> str:
    """Return a new salted scrypt hash of ``password``, for storing."""
    salt = os.urandom(SALT_BYTES)
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return "$".join(["scrypt", str(N), str(R), str(P), _b64(salt), _b64(key)])


def verify_password(password: str, stored: str) -> bool:
    """Tell whether ``password`` is the one ``stored`` was made from."""
    algorithm, n, r, p, salt, key = stored.split("$")
    if algorithm != "scrypt":
        raise ValueError(f"not an scrypt hash: {algorithm!r}")
    expected = base64.b64decode(key)
    candidate = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(expected),
    )
    return hmac.compare_digest(candidate, expected)  # constant time: no timing hints


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
