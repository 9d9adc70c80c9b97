"""Whether a text is a valid email address, and how a cell lists several.

Owns the address rule of the reader (Customers, Invoices, Settings, schedules): what
email-validator accepts, decided without it for the plain addresses that make up most books
(an address at a plain domain: its IDNA checks cost ~0.3 ms a domain). A cell separates its
addresses with ``;`` or ``,`` (``split_addresses``).
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[;,]")
_SIMPLE_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_address_cache: dict[str, str | None] = {}  # address -> None (valid) or the reason it is not
_domain_cache: dict[str, str | None] = {}


def address_problem(address: str) -> str | None:
    """Why ``address`` is not a valid email address (None when it is), by the email-validator package.

    Plain ASCII addresses are checked by their local part here and by their domain once per
    domain: validating every address in full costs ~30 µs, and thousands share few domains.
    """
    try:
        return _address_cache[address]
    except KeyError:
        pass
    local, at, domain = address.rpartition("@")
    if at and len(local) <= 64 and len(address) <= 254 and _SIMPLE_LOCAL.fullmatch(local) and domain.isascii():
        key = domain.lower()
        if key not in _domain_cache:
            _domain_cache[key] = None if _plain_domain(key) else _validate("postmaster@" + domain)
        reason = _domain_cache[key]
    else:
        reason = _validate(address)
    if len(_address_cache) < 100_000:
        _address_cache[address] = reason
    return reason


# Letters, digits and inner hyphens, labels of at most 63, a dot, a top-level domain of letters:
# what email-validator accepts without looking further (property-tested against it). Anything
# else, and the special-use names, are left to it: its IDNA checks cost ~0.3 ms a domain, and
# 5,000 customers may have 5,000 domains.
_PLAIN_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


# email-validator's SPECIAL_USE_DOMAIN_NAMES (RFC 6761 and after), which it refuses with their
# subdomains. Written out so that an address at a plain domain is accepted without importing
# email-validator (~65 ms: its patterns and IDNA tables); a test keeps the two lists equal.
SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_SPECIAL_ENDINGS = tuple("." + d for d in sorted(SPECIAL_USE))


def _plain_domain(domain: str) -> bool:
    """A lower-case domain email-validator is known to accept (see _PLAIN_DOMAIN)."""
    if len(domain) > 253 or "--" in domain or not _PLAIN_DOMAIN.fullmatch(domain):
        return False
    return domain not in SPECIAL_USE and not domain.endswith(_SPECIAL_ENDINGS)


def _validate(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).strip().rstrip(".")
        return reason[:1].lower() + reason[1:]
    return None


def split_addresses(text: str) -> list[str]:
    return [a.strip() for a in _SPLIT.split(text) if a.strip()]
