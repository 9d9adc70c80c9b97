"""`check` flags what sending needs from Settings: company_email, and smtp_host with smtp."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from addin.mail.checks import sending_problems
from addin.model import Settings


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "addin", "check", str(path)], capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_a_blank_company_email_is_an_error_at_its_value_cell():
    problems = sending_problems(Settings(company_email="  ", cells={"company_email": "B3"}))

    assert [str(p) for p in problems] == [
        "Settings!B3: company_email is blank — type the address mail is sent from"]
    assert problems[0].is_error


def test_a_missing_company_email_row_is_an_error_at_the_sheet():
    assert [str(p) for p in sending_problems(Settings())] == [
        "Settings: company_email is blank — type the address mail is sent from"]


@pytest.mark.parametrize("transport, host, expected", [
    ("smtp", "", ["Settings!B5: smtp_host is blank — mail_transport is smtp: type your mail server's name, "
                  "or set mail_transport to outbox"]),
    ("SMTP", " ", ["Settings!B5: smtp_host is blank — mail_transport is smtp: type your mail server's name, "
                   "or set mail_transport to outbox"]),
    ("smtp", "mail.example.com", []),
    ("outbox", "", []),
], ids=["smtp-blank", "smtp-spaces", "smtp-host", "outbox"])
def test_smtp_needs_a_host(transport, host, expected):
    settings = Settings(company_email="billing@maple.example", mail_transport=transport, smtp_host=host,
                        cells={"company_email": "B2", "smtp_host": "B5"})

    assert [str(p) for p in sending_problems(settings)] == expected


def test_check_reports_a_blank_sender_and_smtp_host_and_exits_1(make_workbook):
    path = make_workbook({"Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"],
                                       ["company_email", None], ["mail_transport", "smtp"]]})
    result = check(path)

    assert result.returncode == 1, result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("Settings")] == [
        "Settings: smtp_host is blank — mail_transport is smtp: type your mail server's name, "
        "or set mail_transport to outbox",
        "Settings!B3: company_email is blank — type the address mail is sent from",
    ]


def test_check_is_quiet_when_the_sender_is_there(make_workbook):
    result = check(make_workbook({}))

    assert "company_email" not in result.stdout
    assert "smtp_host" not in result.stdout
