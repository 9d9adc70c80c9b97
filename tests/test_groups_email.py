"""Emailing a group and exporting it as a mailing list, from inline records."""

from __future__ import annotations

import csv
import datetime as dt
import io

from addin.groups import email_group, export_rows
from addin.ledger import Ledger
from addin.model import Book, Customer, Group, Member, Origin, Rule, Settings, Vendor
from addin.render.csvsafe import write_csv

AS_OF = dt.date(2026, 4, 15)
LETTERS = {"customer id": "A", "name": "B", "status": "C", "email": "D"}


def cust(cid, name, emails=("x@example.com",), row=2, **more):
    return Customer(cid, name, "Active", tuple(emails), state="CA", fields={"state": "CA"},
                    origin=Origin("Customers", row, LETTERS), **more)


CUSTOMERS = (
    cust("C1", "Acme Ltd", ("ap@acme.example", "boss@acme.example"), contact="Jane Roe"),
    cust("C2", "Bolt Inc", ("pay@bolt.example",), row=3),
    cust("C3", "No Mail Co", (), row=4),
)


def book(customers=CUSTOMERS, **more):
    return Book(settings=Settings(company_name="Maple Books"), customers=customers, groups=(Group("West"),),
                rules=(Rule("West", "State", "is", "CA"),), **more)


def plan_for(subject="News for {{ customer.name }}", message="Dear {{ customer.first_name }},\n\nWe moved.", b=None,
             **kw):
    b = b or book()
    return email_group(b, Ledger.from_book(b), "west", subject, message, AS_OF, **kw)


def test_one_separate_message_per_member_with_its_own_addresses():
    plan = plan_for()
    assert [(e.to, e.subject) for e in plan.emails] == [
        (("ap@acme.example", "boss@acme.example"), "News for Acme Ltd"),
        (("pay@bolt.example",), "News for Bolt Inc"),
    ]
    first = plan.emails[0]
    assert first.text == "Dear Jane,\n\nWe moved."
    assert first.html == "<p>Dear Jane,</p>\n<p>We moved.</p>"
    assert first.cc == () and first.log.action == "group email" and first.log.target == "C1"


def test_a_member_without_an_address_is_a_problem_and_the_others_are_still_sent():
    plan = plan_for()
    assert len(plan.emails) == 2
    assert [str(p) for p in plan.problems] == [
        'Customers!D4: customer "C3" (No Mail Co) has no valid email address; no message was made for them'
        " — type an address in Email, then run the same command again"]


def test_keys_name_group_campaign_and_customer_so_the_same_command_the_same_day_is_the_same():
    keys = [e.key for e in plan_for().emails]
    assert keys == [e.key for e in plan_for().emails]
    assert all(k.startswith("group:West:2026-04-15-") and len(k.split(":")[2]) == len("2026-04-15-") + 8 for k in keys)
    assert [k.rsplit(":", 1)[1] for k in keys] == ["C1", "C2"]
    other = [e.key for e in plan_for(message="Other").emails]
    assert set(other).isdisjoint(keys)
    next_day = email_group(book(), None, "West", "News for {{ customer.name }}",
                           "Dear {{ customer.first_name }},\n\nWe moved.", AS_OF + dt.timedelta(days=1))
    assert set(e.key for e in next_day.emails).isdisjoint(keys)


def test_only_sends_to_the_chosen_members_and_names_ids_that_are_not_members():
    plan = plan_for(only=["c2", "C9"])
    assert [e.to for e in plan.emails] == [("pay@bolt.example",)]
    assert [str(p) for p in plan.problems] == [
        '"C9" is not a member of group "West" — check the ID (see `receivables groups show WB "West"`)']


def test_a_limited_user_only_emails_the_customers_they_may_see():
    plan = plan_for(visible=frozenset({"C2"}))
    assert [e.to for e in plan.emails] == [("pay@bolt.example",)]


def test_a_template_error_is_reported_once_against_the_command_line_and_nothing_is_sent():
    plan = plan_for(message="Hello {{ customer.nickname }}")
    assert plan.emails == ()
    assert [str(p) for p in plan.problems][0].startswith("--message: the text uses an unknown placeholder (")
    assert len([p for p in plan.problems if p.message.startswith("--")]) == 1
    plan = plan_for(subject="{% if %}")
    assert [p.message.split(":")[0] for p in plan.problems if p.message.startswith("--")] == ["--subject"]


def test_a_template_cannot_reach_python_internals():
    plan = plan_for(message="{{ customer.__class__.__mro__ }}")
    assert plan.emails == ()
    assert any(p.message.startswith("--message: ") for p in plan.problems)


def test_subject_and_message_are_required():
    plan = plan_for(subject=" ", message="")
    assert plan.emails == ()
    assert [p.message for p in plan.problems] == ["--subject is empty", "--message is empty"]


def test_customer_data_cannot_break_the_subject_line():
    sneaky = (cust("C1", "Acme\r\nBcc: all@evil.example", ("ap@acme.example",)),)
    plan = plan_for(b=book(sneaky))
    assert plan.emails[0].subject == "News for Acme Bcc: all@evil.example"


def test_vendor_groups_can_be_emailed():
    b = Book(vendors=(Vendor("V1", "Paper Co", "Active", ("p@paper.example",), fields={"state": "CA"}),),
             groups=(Group("Suppliers", kind="Vendor"),), members=(Member("Suppliers", "V1", "", "Added"),))
    plan = email_group(b, None, "Suppliers", "Hi {{ customer.name }}", "Hello", AS_OF)
    assert [(e.to, e.subject) for e in plan.emails] == [(("p@paper.example",), "Hi Paper Co")]


def test_export_rows_are_a_mailing_list_and_the_csv_is_safe_for_excel():
    members = [cust("C1", "=HYPERLINK(\"http://evil\")", ("a@x.example", "b@x.example"), contact="Jane",
                    address="1 Main St\nSuite 2", city="Reno", postal_code="89501", country="US")]
    rows = export_rows(members)
    assert rows[0] == ["Customer ID", "Name", "Contact", "Email", "Address", "City", "State", "Postal Code", "Country"]
    data = write_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert parsed[1] == ["C1", "'=HYPERLINK(\"http://evil\")", "Jane", "a@x.example; b@x.example",
                         "1 Main St\nSuite 2", "Reno", "CA", "89501", "US"]


def test_members_who_already_received_this_campaign_are_left_out():
    first = plan_for()
    plan = plan_for(sent={first.emails[0].key})
    assert [e.to for e in plan.emails] == [("pay@bolt.example",)]
    assert plan.lines[1] == "1 member(s) already received this message on 2026-04-15: not sent again"
