"""Password hashes: salted, slow, and checked in constant time."""

import pytest

from aiotutorial.passwords import hash_password, verify_password


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)


def test_the_password_is_not_in_the_hash_and_every_hash_is_salted() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert "correct horse" not in first
    assert first != second
    assert first.startswith("scrypt$16384$8$1$")


def test_a_hash_of_another_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="not an scrypt hash"):
        verify_password("correct horse", "md5$$$$$")
