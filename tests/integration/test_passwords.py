"""New passwords are strong: long enough, not on the shipped list of common and breached ones
(checked case-insensitively), scored 3 or more by zxcvbn given the account's own words, with a
refusal that says how to do better in the reader's language. Every way a password is set
enforces it — the admin's new account and reset, the user's own change, ``triage create-user`` —
and a refused one changes nothing. The demo's generated passwords pass."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import FAST_HASH, PASSWORD, Account, AuthActions
from triage import demo, passwords
from triage.cli import main
from triage.config import Settings
from triage.errors import InvalidInput
from triage.models import User
from triage.passwords import WeakPassword, check_strength, common_passwords
from triage.vocab import Role
from triage.web.deps import uow_of

WEAK = [
    "aaaaaaaaaaaa",  # twelve identical letters: the issue's own example
    "AAAAAAAAAAAAAAAAAAAA",
    "qwertyuiop12",
    "Password1234!",
    "123456789012",
    "abcdefghijkl",
    "kazakhstan2024",
    "KAZAKHSTAN2024",
    "йцукенгшщзхъ",  # qwertyuiop[] typed with the keyboard left in Cyrillic
    "Қазақстан2025",
    "пароль123456",
    "құпиясөз2024",
    "iloveyou1234",
]
STRONG = ["correct horse battery staple", "tundra-lantern-obsidian-9", "Қызыл алма жаңбыр астында"]


@pytest.mark.parametrize("password", WEAK)
def test_weak_and_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_strength(password, ["someone"])
    assert refused.value.hints, "a refusal says how to do better"


@pytest.mark.parametrize("password", STRONG)
def test_strong_passwords_pass(password: str) -> None:
    check_strength(password, ["someone"])


def test_length_is_checked_first() -> None:
    with pytest.raises(InvalidInput, match="at least 12"):
        check_strength("Xq7!vR2@", [])
    with pytest.raises(InvalidInput, match="at most 1024"):
        check_strength("x" + "ab1-Zq9" * 200, [])
    check_strength("tundra-lantern-obsidian-9 " + "ж" * 900, [])  # long is fine, and fast


def test_the_list_is_checked_case_insensitively() -> None:
    listed = sorted(p for p in common_passwords() if len(p) >= 12 and p.isascii())[0]
    for variant in (listed, listed.upper(), listed.title(), f" {listed} "):
        with pytest.raises(WeakPassword, match="list of common and breached"):
            check_strength(variant, [])


def test_the_list_is_shipped_and_holds_what_the_docs_say() -> None:
    found = common_passwords()
    assert len(found) > 10_000
    for expected in ("password1234", "qwertyuiopasdfghjkl", "kazakhstan2024", "пароль123"):
        assert expected in found, expected
    assert "йцукенгшщзхъ" in found  # qwertyuiop[] in the Cyrillic layout


def test_a_password_built_from_the_username_is_weak_for_that_account() -> None:
    password = "aigerim.nurlanovna1"
    check_strength(password, ["someone.else"])
    with pytest.raises(WeakPassword) as refused:
        check_strength(password, ["aigerim.nurlanovna"])
    assert passwords._OWN_WORDS in refused.value.hints


def test_every_hint_is_a_marked_message_of_our_own() -> None:
    """zxcvbn's English advice is never shown as is: each maps to a msgid in the catalogues."""
    catalogue = passwords.__file__.replace(
        "passwords.py", "translations/ru/LC_MESSAGES/messages.po"
    )
    with open(catalogue, "rb") as po:  # long msgids are wrapped over several lines
        msgids = {m.id for m in read_po(po) if isinstance(m.id, str)}
    hints = set(passwords.ADVICE.values()) | {
        passwords._ON_THE_LIST,
        passwords._OWN_WORDS,
        passwords._LONGER,
        WeakPassword.title,
    }
    missing = {h for h in hints if h not in msgids}
    assert missing == set()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32))
def test_the_demos_generated_passwords_pass(seed: int) -> None:
    check_strength(demo._password(), ["reviewer", "admin"])


# -- every way a password is set ------------------------------------------------------------------


def _user_count(app: Flask) -> int:
    with app.app_context(), uow_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def _hash_of(app: Flask, user_id: int) -> str:
    with app.app_context(), uow_of(app).read() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.password_hash


def _signed_in(app: Flask, account: Account) -> tuple[FlaskClient, AuthActions]:
    client = app.test_client()
    auth = AuthActions(client)
    auth.login_as(account)
    return client, auth


def test_the_admin_cannot_create_an_account_with_a_weak_password(app, accounts):
    client, auth = _signed_in(app, accounts[Role.ADMIN])
    before = _user_count(app)
    token = auth.csrf_token("/admin/users/new")
    form = {"csrf_token": token, "username": "new.one", "role": "auditor", "active": "y"}

    refused = client.post("/admin/users/new", data={**form, "password": "aaaaaaaaaaaa"})

    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "too easy to guess" in page and "Repeats like" in page
    assert _user_count(app) == before
    accepted = client.post("/admin/users/new", data={**form, "password": "tundra-lantern-9x"})
    assert accepted.status_code == 302
    assert _user_count(app) == before + 1


def test_a_refusal_is_shown_in_the_readers_language(app, accounts):
    client, auth = _signed_in(app, accounts[Role.ADMIN])
    token = auth.csrf_token("/admin/users/new")
    form = {"csrf_token": token, "username": "new.two", "role": "auditor", "active": "y"}
    refused = client.post(
        "/admin/users/new",
        data={**form, "password": "aaaaaaaaaaaa"},
        headers={"Accept-Language": "ru"},
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Этот пароль слишком легко угадать." in page, page[-3000:]
    assert "Repeats like" not in page


def test_the_admins_reset_refuses_a_weak_password_and_changes_nothing(app, accounts):
    target = accounts[Role.REVIEWER]
    client, auth = _signed_in(app, accounts[Role.ADMIN])
    before = _hash_of(app, target.id)
    token = auth.csrf_token(f"/admin/users/{target.id}")

    refused = client.post(
        f"/admin/users/{target.id}/password",
        data={"csrf_token": token, "reset-password": "kazakhstan2024", "reset-csrf_token": token},
    )

    assert refused.status_code in (400, 422)
    assert "list of common and breached" in refused.get_data(as_text=True)
    assert _hash_of(app, target.id) == before


def test_a_user_cannot_change_to_a_weak_password(app, accounts):
    me = accounts[Role.CASEWORKER]
    client, auth = _signed_in(app, me)
    before = _hash_of(app, me.id)
    token = auth.csrf_token("/account/password")

    refused = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "new": "caseworker2024!",
            "confirm": "caseworker2024!",
        },
    )

    assert refused.status_code == 422
    assert "too easy to guess" in refused.get_data(as_text=True)
    assert _hash_of(app, me.id) == before
    assert client.get("/").status_code == 200  # still signed in: nothing changed


def test_the_command_refuses_a_weak_password_in_one_line(settings: Settings):
    env = {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": str(settings.keyring_file),
        **{f"TRIAGE_{name.upper()}": str(value) for name, value in FAST_HASH.items()},
    }
    runner = CliRunner()
    weak = runner.invoke(
        main,
        ["create-user", "cli.user", "--role", "auditor", "--password-stdin"],
        input="aaaaaaaaaaaa\n",
        env=env,
    )
    assert weak.exit_code != 0 and "Traceback" not in weak.output
    assert "too easy to guess" in weak.output
    strong = runner.invoke(
        main,
        ["create-user", "cli.user", "--role", "auditor", "--password-stdin"],
        input="tundra-lantern-obsidian-9\n",
        env=env,
    )
    assert strong.exit_code == 0, strong.output
