"""The key string module: format, entropy source, checksum, masking, digest."""
import hashlib
import random
import string

import pytest

from sureapp.keys import keystring

ALPHABET = string.ascii_letters + string.digits


@pytest.fixture
def sample(monkeypatch):
    """A reproducible key, made by generate() itself with its CSPRNG swapped for a seeded one."""
    rng = random.Random(20261127)
    monkeypatch.setattr(keystring.secrets, "choice", rng.choice)
    return keystring.generate()


def test_keys_are_60_characters_of_the_alphanumeric_alphabet_with_the_prefix():
    for _ in range(200):
        key = keystring.generate()
        assert len(key) == 60
        assert set(key) <= set(ALPHABET)
        assert key.startswith("sure")
        assert keystring.is_well_formed(key)


def test_randomness_comes_from_secrets(monkeypatch):
    calls = []

    def fake_choice(seq):
        calls.append(seq)
        return "A"

    monkeypatch.setattr(keystring.secrets, "choice", fake_choice)
    key = keystring.generate()
    assert len(calls) == 50  # every random character, and nothing else, comes from secrets
    assert key[4:54] == "A" * 50


def test_keys_do_not_repeat():
    keys = {keystring.generate() for _ in range(2000)}
    assert len(keys) == 2000


def test_every_single_character_typo_is_rejected(sample):
    assert keystring.is_well_formed(sample)
    for position in range(len(sample)):
        for replacement in ALPHABET:
            if replacement == sample[position]:
                continue
            typo = sample[:position] + replacement + sample[position + 1:]
            assert not keystring.is_well_formed(typo), (position, replacement)


def test_every_adjacent_transposition_is_rejected(sample):
    for position in range(len(sample) - 1):
        a, b = sample[position], sample[position + 1]
        if a == b:
            continue
        swapped = sample[:position] + b + a + sample[position + 2:]
        assert not keystring.is_well_formed(swapped), position


@pytest.mark.parametrize("candidate", [
    "", "sure", "x" * 60, "sure" + "a" * 56, "sure" + "a" * 55 + "!",
    "SURE" + "a" * 56, " " * 60, "sure" + "é" * 56,
])
def test_malformed_strings_are_rejected(candidate):
    assert not keystring.is_well_formed(candidate)


def test_wrong_length_is_rejected(sample):
    assert not keystring.is_well_formed(sample[:-1])
    assert not keystring.is_well_formed(sample + "a")
    assert not keystring.is_well_formed(" " + sample)


def test_digest_is_sha256_hex(sample):
    assert keystring.digest(sample) == hashlib.sha256(sample.encode()).hexdigest()
    assert len(keystring.digest(sample)) == 64


def test_display_parts_and_mask(sample):
    first4, last4 = keystring.display_parts(sample)
    assert (first4, last4) == (sample[:4], sample[-4:])
    masked = keystring.mask(first4, last4)
    assert masked == f"{sample[:4]}…{sample[-4:]}"
    assert sample[4:-4] not in masked
