"""The credential store on its own: real SQLite files in a temp folder, no app."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time

import pytest
from argon2 import PasswordHasher
from werkzeug.security import generate_password_hash

from mingxiao.auth import CredentialStore

EMAIL = "teacher@example.cn"
PASSWORD = "correct horse 2026"


@pytest.fixture
def store(tmp_path):
    return CredentialStore(tmp_path / "credentials.sqlite3")


def stored_hash(store: CredentialStore, email: str = EMAIL) -> str:
    cred = store.get(email)
    assert cred is not None
    return cred.hash


def test_credentials_file_is_private_to_the_owner(tmp_path):
    old = os.umask(0o022)  # a typical umask would otherwise leave the file world-readable
    try:
        store = CredentialStore(tmp_path / "credentials.sqlite3")
        reader = sqlite3.connect(store.path)  # an open reader keeps the -wal/-shm files around
        reader.execute("SELECT COUNT(*) FROM credentials").fetchone()
        store.set_password(EMAIL, PASSWORD)
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        reader.close()
    finally:
        os.umask(old)
    assert len(modes) == 3 and set(modes.values()) == {0o600}, modes


def test_existing_loose_credentials_file_is_tightened(tmp_path):
    path = tmp_path / "credentials.sqlite3"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    CredentialStore(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_store_uses_write_ahead_logging(store):
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_password_is_stored_as_argon2id_never_plain(store):
    store.set_password(EMAIL, PASSWORD)
    encoded = stored_hash(store)
    assert encoded.startswith("$argon2id$") and PASSWORD not in encoded


def test_verify_accepts_right_password_case_insensitive_email(store):
    store.set_password(EMAIL, PASSWORD)
    assert store.verify("  Teacher@Example.CN ", PASSWORD)


def test_verify_rejects_wrong_password(store):
    store.set_password(EMAIL, PASSWORD)
    assert not store.verify(EMAIL, PASSWORD + "x")


def test_verify_rejects_unknown_email(store):
    assert not store.verify("nobody@example.cn", PASSWORD)


def test_fullwidth_at_sign_is_the_same_email(store):
    store.set_password(EMAIL, PASSWORD)
    assert store.verify("teacher＠example.cn", PASSWORD)


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256"])
def test_legacy_werkzeug_hash_verifies_and_is_upgraded_to_argon2(store, method):
    store.set_hash(EMAIL, generate_password_hash(PASSWORD, method=method))
    assert store.verify(EMAIL, PASSWORD)
    assert stored_hash(store).startswith("$argon2id$")


def test_legacy_hash_is_not_upgraded_by_a_wrong_password(store):
    legacy = generate_password_hash(PASSWORD, method="scrypt")
    store.set_hash(EMAIL, legacy)
    assert not store.verify(EMAIL, "wrong password!")
    assert stored_hash(store) == legacy


def test_weaker_argon2_parameters_are_rehashed_at_login(store):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    store.set_hash(EMAIL, weak)
    assert store.verify(EMAIL, PASSWORD)
    assert not store.hasher.check_needs_rehash(stored_hash(store))


def test_plain_text_in_the_hash_column_never_matches(store):
    store.set_hash(EMAIL, PASSWORD)
    assert not store.verify(EMAIL, PASSWORD)


def test_disabled_account_cannot_verify(store):
    store.set_password(EMAIL, PASSWORD)
    store.disable(EMAIL)
    assert not store.verify(EMAIL, PASSWORD)


def test_enable_restores_login(store):
    store.set_password(EMAIL, PASSWORD)
    store.disable(EMAIL)
    store.enable(EMAIL)
    assert store.verify(EMAIL, PASSWORD)


def test_disable_bumps_the_session_version(store):
    store.set_password(EMAIL, PASSWORD)
    before = store.session_version(EMAIL)
    store.disable(EMAIL)
    assert store.session_version(EMAIL) == before + 1


def test_bump_session_version_counts_up(store):
    store.set_password(EMAIL, PASSWORD)
    assert [store.bump_session_version(EMAIL) for _ in range(2)] == [2, 3]


def test_bump_for_account_without_password_moves_past_default(store):
    assert store.session_version(EMAIL) == 1
    assert store.bump_session_version(EMAIL) == 2


def test_set_password_keeps_the_session_version(store):
    store.set_password(EMAIL, PASSWORD)
    store.bump_session_version(EMAIL)
    store.set_password(EMAIL, "another password 1")
    assert store.session_version(EMAIL) == 2


# -- reset tokens ---------------------------------------------------------------------------


def test_reset_token_is_stored_only_as_sha256(store):
    token = store.create_reset_token(EMAIL)
    con = sqlite3.connect(store.path)
    rows = con.execute("SELECT token_hash FROM reset_tokens").fetchall()
    con.close()
    assert token not in {r[0] for r in rows} and len(rows) == 1


def test_reset_token_works_once(store):
    token = store.create_reset_token(EMAIL)
    assert [store.consume_reset_token(token), store.consume_reset_token(token)] == [EMAIL, None]


def test_reset_token_expires(store):
    now = time.time()
    token = store.create_reset_token(EMAIL, ttl=3600, now=now)
    assert store.consume_reset_token(token, now=now + 3601) is None


def test_reset_token_valid_before_expiry(store):
    now = time.time()
    token = store.create_reset_token(EMAIL, ttl=3600, now=now)
    assert store.consume_reset_token(token, now=now + 3599) == EMAIL


def test_peeking_does_not_use_the_token_up(store):
    token = store.create_reset_token(EMAIL)
    store.peek_reset_token(token)
    assert store.consume_reset_token(token) == EMAIL


def test_using_one_token_withdraws_the_others(store):
    first = store.create_reset_token(EMAIL)
    second = store.create_reset_token(EMAIL)
    store.consume_reset_token(second)
    assert store.consume_reset_token(first) is None


def test_disabling_withdraws_reset_tokens(store):
    token = store.create_reset_token(EMAIL)
    store.disable(EMAIL)
    assert store.consume_reset_token(token) is None


def test_unknown_token_is_refused(store):
    assert store.consume_reset_token("not-a-token") is None


def test_recent_reset_tokens_counts_the_last_hour(store):
    now = time.time()
    store.create_reset_token(EMAIL, now=now - 7200)
    store.create_reset_token(EMAIL, now=now - 60)
    assert store.recent_reset_tokens(EMAIL, now=now) == 1


# -- throttling -----------------------------------------------------------------------------


def test_throttle_engages_after_five_failures_for_one_email(store):
    now = time.time()
    states = []
    for _ in range(6):
        states.append(store.too_many_attempts(EMAIL, "10.0.0.1", now=now))
        store.record_failure(EMAIL, "10.0.0.1", now=now)
    assert states == [False] * 5 + [True]


def test_throttle_releases_after_the_window(store):
    now = time.time()
    for _ in range(5):
        store.record_failure(EMAIL, "10.0.0.1", now=now)
    assert not store.too_many_attempts(EMAIL, "10.0.0.1", now=now + 15 * 60 + 1)


def test_throttle_counts_per_address_across_emails(store):
    now = time.time()
    for i in range(20):
        store.record_failure(f"user{i}@example.cn", "10.0.0.9", now=now)
    assert store.too_many_attempts("fresh@example.cn", "10.0.0.9", now=now)


def test_other_address_is_not_throttled_by_someone_elses_ip_failures(store):
    now = time.time()
    for i in range(20):
        store.record_failure(f"user{i}@example.cn", "10.0.0.9", now=now)
    assert not store.too_many_attempts("fresh@example.cn", "10.0.0.10", now=now)


def test_clear_failures_resets_the_email_but_not_the_address(store):
    now = time.time()
    for i in range(20):
        store.record_failure(EMAIL if i < 4 else f"user{i}@example.cn", "10.0.0.9", now=now)
    store.clear_failures(EMAIL)
    assert (
        store.too_many_attempts(EMAIL, None, now=now),
        store.too_many_attempts(EMAIL, "10.0.0.9", now=now),
    ) == (
        False,
        True,
    )


def test_limits_are_configurable(tmp_path):
    store = CredentialStore(tmp_path / "c.sqlite3", max_failures_per_email=2, throttle_window=60)
    now = time.time()
    for _ in range(2):
        store.record_failure(EMAIL, None, now=now)
    assert store.too_many_attempts(EMAIL, None, now=now)


def test_two_store_objects_on_one_file_share_the_count(tmp_path):
    """Two workers are two processes with their own store objects on one file."""
    path = tmp_path / "credentials.sqlite3"
    first, second = CredentialStore(path), CredentialStore(path)
    now = time.time()
    for _ in range(5):
        first.record_failure(EMAIL, None, now=now)
    assert second.too_many_attempts(EMAIL, None, now=now)


# -- attempts counted before the password check -------------------------------------------------


def test_begin_attempt_grants_five_then_refuses(store):
    now = time.time()
    granted = [store.begin_attempt(EMAIL, "10.0.0.1", now=now) is not None for _ in range(6)]
    assert granted == [True] * 5 + [False]


def test_parallel_attempts_cannot_slip_past_the_limit(tmp_path):
    """Twelve simultaneous guesses from separate store objects (as from separate workers)."""
    path = tmp_path / "credentials.sqlite3"
    CredentialStore(path)
    stores = [CredentialStore(path) for _ in range(12)]
    barrier = threading.Barrier(len(stores))
    results: list[bool] = []

    def guess(s: CredentialStore) -> None:
        barrier.wait()
        results.append(s.begin_attempt(EMAIL, "10.0.0.1") is not None)

    threads = [threading.Thread(target=guess, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True] * 5


def test_forgiven_attempt_counts_against_neither_email_nor_address(tmp_path):
    store = CredentialStore(tmp_path / "c.sqlite3", max_failures_per_email=2, max_failures_per_ip=2)
    now = time.time()
    for _ in range(3):
        attempt = store.begin_attempt(EMAIL, "10.0.0.1", now=now)
        assert attempt is not None
        store.forgive_attempt(attempt)
    assert not store.too_many_attempts(EMAIL, "10.0.0.1", now=now)


def test_a_closed_store_file_alone_holds_every_password_set(tmp_path):
    """Each call's connection is closed after it (SQLite then folds its write-ahead log into the
    file), so copying only ``credentials.sqlite3`` (as the load bench does) loses nothing. A
    connection kept open per thread was tried for speed and lost exactly this."""
    store = CredentialStore(tmp_path / "a" / "credentials.sqlite3")
    store.set_password("clerk@example.cn", "a long enough password 1")
    (tmp_path / "b").mkdir()
    copy = tmp_path / "b" / "credentials.sqlite3"
    copy.write_bytes(store.path.read_bytes())
    assert CredentialStore(copy).verify("clerk@example.cn", "a long enough password 1")


def test_a_store_file_replaced_from_a_backup_is_read_at_once(tmp_path):
    store = CredentialStore(tmp_path / "credentials.sqlite3")
    store.set_password("a@example.cn", "a long enough password 1")
    other = CredentialStore(tmp_path / "other.sqlite3")
    other.set_password("b@example.cn", "a long enough password 2")
    os.replace(other.path, store.path)  # a restore from backup
    assert store.verify("b@example.cn", "a long enough password 2")
    assert not store.verify("a@example.cn", "a long enough password 1")
