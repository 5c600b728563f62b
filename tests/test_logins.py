"""The login book the dashboard and the site share: a login lasts only as long as its account is
as it was when it logged in, whoever changed the account (the site, through a machine's bridge)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from controller.app.logins import RECHECK_S, Logins, Role

Accounts = dict[str, tuple[str, str]]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("change", "still_in"),
    [
        (lambda accounts: None, True),
        (lambda accounts: accounts.update(lee=("clinician", "another hash")), False),
        (lambda accounts: accounts.update(lee=("patient", "hash")), False),
        (lambda accounts: accounts.pop("lee"), False),
    ],
    ids=["unchanged", "password changed", "role changed", "removed"],
)
def test_a_login_follows_its_account_within_the_recheck(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[Accounts], object], still_in: bool
) -> None:
    clock = Clock()
    monkeypatch.setattr("controller.app.logins.time.monotonic", clock)
    accounts: Accounts = {"lee": ("clinician", "hash")}
    asked: list[str] = []

    def account_of(name: str) -> tuple[str, str] | None:
        asked.append(name)
        return accounts.get(name)

    book = Logins(account_of)
    token = book.open("lee", Role.CLINICIAN, "hash")
    change(accounts)
    clock.now += RECHECK_S / 2
    assert book.user(token) is not None and asked == []  # not read from the store at every request
    clock.now += RECHECK_S
    assert (book.user(token) is not None) is still_in and asked == ["lee"]


def test_a_password_changed_here_keeps_the_login_that_changed_it(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("controller.app.logins.time.monotonic", clock)
    accounts = {"lee": ("clinician", "old")}
    book = Logins(accounts.get)
    mine, other = book.open("lee", Role.CLINICIAN, "old"), book.open("lee", Role.CLINICIAN, "old")
    accounts["lee"] = ("clinician", "new")
    book.close_all("lee", keep=mine, credential="new")
    clock.now += 2 * RECHECK_S
    assert book.user(mine) is not None and book.user(other) is None
