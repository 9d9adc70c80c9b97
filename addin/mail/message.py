"""Build the MIME message of an ``Email``: text + branded HTML, attachments, safe headers; and
its bytes (``flatten``; ``build_bytes``: the whole message made ahead, in a worker process, so
the process that sends only journals and writes it).

Every header value is cleaned of control characters (CR, LF, ...) before it reaches the
message, so customer data cannot add a header; addresses go through
``email.headerregistry.Address``. The Message-ID is derived from the idempotency key, so a
message sent again after a release carries the same id and the recipient's server can spot it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import re
from email import policy
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..render.texts import TEMPLATES_DIR

if TYPE_CHECKING:
    from ..actions import Email
    from ..model import Settings

EMAIL_TEMPLATES = TEMPLATES_DIR / "email"
DEFAULT_BRAND = "#1F6FB2"
LOGO_TYPES = {"image/png", "image/jpeg", "image/gif"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class MessageError(ValueError):
    """A message that cannot be built (no sender address, a malformed address)."""


def clean(value: str) -> str:
    """One line of header text: control characters (CR, LF, NUL, ...) become spaces."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


def address(addr: str, name: str = "") -> Address:
    """An Address from untrusted text; MessageError when it is not one address."""
    spec = clean(addr)
    if not spec or " " in spec or "," in spec or ";" in spec or spec.count("@") != 1:
        raise MessageError(f'"{spec}" is not an email address')
    try:
        result = Address(display_name=clean(name), addr_spec=spec)
        _ = str(result)
    except (ValueError, IndexError, TypeError) as exc:
        raise MessageError(f'"{spec}" is not an email address ({exc})') from None
    return result


def domain_of(settings: Settings) -> str:
    """The company's mail domain, for Message-IDs (a safe placeholder when there is none)."""
    domain = settings.company_email.rpartition("@")[2].strip().lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    return domain if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain) else "receivables.invalid"


def message_id(key: str, domain: str) -> str:
    """``<sha256(key, domain)@domain>``: the same key always gets the same id."""
    digest = hashlib.sha256(f"{key}\n{domain}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def build_message(email: Email, settings: Settings, *, now: dt.datetime,
                  base_dir: Path | None = None) -> EmailMessage:
    """The message for ``email`` from the company in ``settings`` (``base_dir``: the workbook's folder)."""
    if not settings.company_email:
        raise MessageError("company_email is empty in Settings — type the address messages are sent from")
    sender = address(settings.company_email, settings.company_name)
    if not email.to:
        raise MessageError(f"message {email.key} has no recipient")
    domain = domain_of(settings)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = [address(a) for a in email.to]
    if email.cc:
        msg["Cc"] = [address(a) for a in email.cc]
    msg["Reply-To"] = address(settings.company_email, settings.company_name)
    msg["Subject"] = clean(email.subject)
    msg["Date"] = format_datetime(now if now.tzinfo else now.astimezone())
    msg["Message-ID"] = message_id(email.key, domain)

    logo = _logo(settings, base_dir)
    logo_cid = f"logo.{hashlib.sha256(email.key.encode()).hexdigest()[:12]}@{domain}" if logo else ""
    text, html = wrap(email, settings, logo_cid=logo_cid)
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    if logo:
        data, mime = logo
        maintype, subtype = mime.split("/")
        html_part: EmailMessage = msg.get_payload()[1]  # type: ignore[index, assignment]
        html_part.add_related(data, maintype=maintype, subtype=subtype, cid=f"<{logo_cid}>",
                              filename=f"logo.{subtype.replace('jpeg', 'jpg')}", disposition="inline")
    for att in email.attachments:
        maintype, _, subtype = (att.mime or "application/octet-stream").partition("/")
        msg.add_attachment(att.content, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=safe_filename(att.filename))
    return msg


def flatten(msg: EmailMessage, utf8: bool = False) -> bytes:
    """The message as bytes with CRLF line ends (SMTPUTF8 headers when ``utf8``)."""
    out = BytesIO()
    BytesGenerator(out, policy=policy.SMTPUTF8 if utf8 else policy.SMTP).flatten(msg)
    return out.getvalue()


def build_bytes(email: Email, settings: Settings, *, now: dt.datetime, base_dir: Path | None = None) -> bytes:
    """``flatten(build_message(...))``: the message made ahead, as the outbox writes it (a transport
    takes it through ``wire_built``); b"" when it cannot be built — the sender then says why."""
    try:
        return flatten(build_message(email, settings, now=now, base_dir=base_dir))
    except MessageError:
        return b""


def safe_filename(name: str) -> str:
    """A bare file name: no folders, no control characters (non-ASCII is kept, RFC 2231 encoded)."""
    base = clean(name).replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    return base or "attachment"


def wrap(email: Email, settings: Settings, *, logo_cid: str = "") -> tuple[str, str]:
    """The text body with its signature, and the HTML body inside the branded layout."""
    language = email.language if email.language in ("en", "fr") else (settings.language or "en")
    company = {
        "name": clean(settings.company_name),
        "email": settings.company_email,
        "phone": settings.company_phone,
        "address_lines": [line.strip() for line in settings.company_address.splitlines() if line.strip()],
    }
    footer = _plain(f"footer.{language}.txt").render(company=company).strip()
    signature = _plain("signature.txt").render(company=company, footer=footer).rstrip()
    text = email.text.rstrip() + "\n\n" + signature + "\n"
    from markupsafe import Markup

    brand = brand_color(settings.brand_color)
    html = _layout().render(
        language=language, subject=clean(email.subject), body=Markup(email.html), company=company,
        footer=footer, brand=brand, on_brand=readable_on(brand), logo_cid=logo_cid,
    )
    return text, html


def brand_color(value: str) -> str:
    """The Settings brand colour when it is a #RGB / #RRGGBB colour, else the default."""
    value = (value or "").strip()
    if not _HEX.match(value):
        return DEFAULT_BRAND
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value.upper()


def readable_on(color: str) -> str:
    """White or near-black text, whichever reads better on ``color``."""
    r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#1A1A1A" if luminance > 0.6 else "#FFFFFF"


@lru_cache(maxsize=1)
def _html_env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(EMAIL_TEMPLATES), autoescape=True,
                       undefined=StrictUndefined)


@lru_cache(maxsize=1)
def _text_env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(EMAIL_TEMPLATES), autoescape=False,
                       undefined=StrictUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=4)
def _layout() -> Any:
    return _html_env().get_template("layout.html")


@lru_cache(maxsize=8)
def _plain(name: str) -> Any:
    return _text_env().get_template(name)


def _logo(settings: Settings, base_dir: Path | None) -> tuple[bytes, str] | None:
    if not settings.logo_path:
        return None
    path = Path(settings.logo_path)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read_logo(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_logo(path: str, _mtime: int, size: int) -> tuple[bytes, str] | None:
    mime = mimetypes.guess_type(path)[0] or ""
    if mime not in LOGO_TYPES or size > 2_000_000:
        return None
    try:
        return Path(path).read_bytes(), mime
    except OSError:
        return None
