"""The MIME message of an Email: parts, headers that cannot be injected, branded HTML, logo."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest

from addin.actions import Attachment, Email
from addin.mail.message import MessageError, build_message, message_id
from addin.mail.transport import flatten
from addin.model import Settings

NOW = dt.datetime(2026, 3, 28, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
SETTINGS = Settings(company_name="Maple Books Ltd", company_email="billing@maple.example",
                    company_phone="+1 514 555 0100", brand_color="#0A7E3C")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
       b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def mail(**kw: object) -> Email:
    base: dict = dict(key="reminder:INV-1042:2", to=("ann@customer.example",), subject="Reminder: invoice INV-1042",
                      text="Hello Ann,\n\nInvoice INV-1042 is overdue.", html="<p>Hello Ann,</p><p>Invoice INV-1042 is overdue.</p>")
    base.update(kw)
    return Email(**base)


def parsed(msg) -> email.message.EmailMessage:  # noqa: ANN001
    return email.message_from_bytes(flatten(msg), policy=email.policy.default)  # type: ignore[return-value]


def test_text_and_html_alternatives_inside_mixed_with_the_pdf_attached() -> None:
    msg = parsed(build_message(mail(attachments=(Attachment("Invoice-INV-1042.pdf", b"%PDF-1.7 x", "application/pdf"),)),
                               SETTINGS, now=NOW))
    assert msg.get_content_type() == "multipart/mixed"
    alternative, pdf = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "Invoice-INV-1042.pdf"
    assert pdf.get_content() == b"%PDF-1.7 x"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n").startswith("Hello Ann,\n\nInvoice INV-1042 is overdue.\n\n-- \n")


def test_headers_from_reply_to_date_subject_and_a_message_id_from_the_key() -> None:
    msg = parsed(build_message(mail(cc=("ap@customer.example",)), SETTINGS, now=NOW))
    assert msg["From"] == "Maple Books Ltd <billing@maple.example>"
    assert msg["Reply-To"] == "Maple Books Ltd <billing@maple.example>"
    assert msg["To"] == "ann@customer.example"
    assert msg["Cc"] == "ap@customer.example"
    assert msg["Subject"] == "Reminder: invoice INV-1042"
    assert msg["Date"] == "Sat, 28 Mar 2026 09:30:00 -0400"
    assert msg["Message-ID"] == message_id("reminder:INV-1042:2", "maple.example")
    assert msg["Message-ID"].endswith("@maple.example>")
    again = parsed(build_message(mail(), SETTINGS, now=NOW + dt.timedelta(days=1)))
    other = parsed(build_message(mail(key="reminder:INV-1042:3"), SETTINGS, now=NOW))
    assert again["Message-ID"] == msg["Message-ID"] != other["Message-ID"]


def test_a_non_ascii_attachment_name_is_rfc2231_encoded_and_stripped_of_folders() -> None:
    msg = build_message(mail(attachments=(Attachment("../../Relevé Zoë.csv", b"a,b\r\n", "text/csv"),)),
                        SETTINGS, now=NOW)
    raw = flatten(msg)
    assert b"filename*=utf-8''Relev%C3%A9%20Zo%C3%AB.csv" in raw
    assert parsed(msg).get_payload()[1].get_filename() == "Relevé Zoë.csv"


def test_crlf_in_names_and_subject_cannot_add_a_header() -> None:
    hostile = Settings(company_name="Evil\r\nBcc: evil@x.example", company_email="billing@maple.example")
    msg = build_message(mail(subject="Hi\r\nBcc: evil@x.example\nX-Spam: 1"), hostile, now=NOW)
    raw = flatten(msg)
    back = parsed(msg)
    assert back["Bcc"] is None and back["X-Spam"] is None
    assert b"\r\nBcc:" not in raw and b"\nX-Spam" not in raw
    assert back["Subject"] == "Hi Bcc: evil@x.example X-Spam: 1"
    assert back["From"].addresses[0].display_name == "Evil Bcc: evil@x.example"
    assert back["From"].addresses[0].addr_spec == "billing@maple.example"


def test_an_address_carrying_a_header_is_refused() -> None:
    with pytest.raises(MessageError, match="is not an email address"):
        build_message(mail(to=("ann@customer.example\r\nBcc: evil@x.example",)), SETTINGS, now=NOW)


def test_no_company_email_is_a_clear_error() -> None:
    with pytest.raises(MessageError, match="^company_email is empty in Settings — type the address"):
        build_message(mail(), Settings(company_name="Maple"), now=NOW)


def test_html_is_wrapped_in_the_brand_colour_with_company_details_escaped() -> None:
    settings = Settings(company_name="Smith & <Sons>", company_email="billing@maple.example", brand_color="#0A7E3C",
                        company_address="1 Main St\nSpringfield")
    html = parsed(build_message(mail(), settings, now=NOW)).get_body(("html",)).get_content()
    assert "background:#0A7E3C" in html
    assert "<p>Hello Ann,</p><p>Invoice INV-1042 is overdue.</p>" in html  # the body is ours, kept as HTML
    assert "Smith &amp; &lt;Sons&gt;" in html and "<Sons>" not in html
    assert "1 Main St<br>Springfield" in html
    assert "Questions about your account? Reply to this email." in html


def test_a_brand_colour_that_is_not_a_colour_falls_back_to_the_default() -> None:
    settings = Settings(company_email="billing@maple.example", brand_color="red;background:url(x)")
    html = parsed(build_message(mail(), settings, now=NOW)).get_body(("html",)).get_content()
    assert "url(x)" not in html and "background:#1F6FB2" in html


def test_french_layout_and_signature() -> None:
    msg = parsed(build_message(mail(language="fr"), SETTINGS, now=NOW))
    assert '<html lang="fr">' in msg.get_body(("html",)).get_content()
    assert "Répondez à ce courriel ou appelez-nous au +1 514 555 0100." in msg.get_body(("plain",)).get_content()


def test_the_logo_is_an_inline_cid_image_beside_the_html(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG)
    settings = Settings(company_name="Maple", company_email="billing@maple.example", logo_path="logo.png")
    msg = parsed(build_message(mail(), settings, now=NOW, base_dir=tmp_path))
    alternative = msg.get_payload()[1] if msg.get_content_type() == "multipart/mixed" else msg
    related = alternative.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert image.get_content_type() == "image/png" and image.get_content() == PNG
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()


def test_a_missing_logo_file_is_left_out() -> None:
    settings = Settings(company_email="billing@maple.example", logo_path="/nowhere/logo.png")
    msg = parsed(build_message(mail(), settings, now=NOW))
    assert msg.get_content_type() == "multipart/alternative"
    assert "cid:" not in msg.get_body(("html",)).get_content()
