"""Roles from the Users sheet: who sees which customers, who may delete groups."""

from __future__ import annotations

import datetime as dt

import pytest

from addin.access import access_for, current_user, visible_customer_ids
from addin.ledger import Ledger
from addin.model import Book, Customer, Group, Member, Origin, Rule, User

AS_OF = dt.date(2026, 4, 15)
USERS_LETTERS = {"user": "A", "role": "B", "group": "C"}


def user(name, role, group="", row=2):
    return User(name, role, group, Origin("Users", row, USERS_LETTERS))


def book(*users):
    customers = (Customer("C1", "West One", "Active", ("a@x.example",), state="CA", fields={"state": "CA"}),
                 Customer("C2", "East One", "Active", ("b@x.example",), state="NY", fields={"state": "NY"}),
                 Customer("C3", "Picked", "Active", ("c@x.example",), state="NY", fields={"state": "NY"}))
    return Book(customers=customers, groups=(Group("West"),), rules=(Rule("West", "State", "is", "CA"),),
                members=(Member("West", "C3", "", "Added"),), users=tuple(users))


def visible(b, name):
    return visible_customer_ids(b, Ledger.from_book(b), AS_OF, user=name)


def test_an_empty_users_sheet_makes_everyone_admin():
    b = book()
    assert access_for(b, "anyone").is_admin
    assert visible(b, "anyone") is None


def test_full_users_see_everything_but_are_not_admins():
    b = book(user("ann", "Full"))
    assert visible(b, "ANN") is None
    assert not access_for(b, "ann").is_admin


def test_a_limited_user_sees_only_their_groups_customers():
    b = book(user("boss", "Admin"), user("lee", "Limited", "west", row=3))
    assert visible(b, "lee") == frozenset({"C1", "C3"})
    assert visible(b, r"CORP\Lee") == frozenset({"C1", "C3"})
    assert visible(b, "boss") is None


def test_someone_not_on_a_non_empty_users_sheet_has_no_access():
    b = book(user("boss", "Admin"))
    assert visible(b, "stranger") == frozenset()
    assert str(access_for(b, "stranger").refusal(b)) == (
        'Users: user "stranger" is not on the Users sheet, so has no access — ask an Admin to add a row for '
        '"stranger" to Users')


@pytest.mark.parametrize(("group", "message"), [
    ("", 'Users!C3: user "lee" is Limited but has no group, so sees no customers — '
         "choose the group this user may see in Group"),
    ("Nowhere", 'Users!C3: group "Nowhere" of user "lee" is not on the Groups sheet, so they see no customers — '
                "choose a group from the Groups sheet"),
])
def test_a_limited_user_without_a_known_group_sees_nobody(group, message):
    b = book(user("lee", "Limited", group, row=3))
    assert visible(b, "lee") == frozenset()
    assert str(access_for(b, "lee").refusal(b)) == message


def test_the_current_user_can_be_set_by_environment_variable(monkeypatch):
    monkeypatch.setenv("RECEIVABLES_USER", "lee")
    assert current_user() == "lee"
    b = book(user("lee", "Limited", "West"))
    assert visible_customer_ids(b, None, AS_OF) == frozenset({"C1", "C3"})
