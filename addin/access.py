"""Who may do what (SPEC §2 Users): roles from the Users sheet, for the current OS user.

An empty Users sheet means everyone is Admin. When the sheet lists people, someone not on it
has no access at all (the safest reading): commands refuse with a message saying whom to ask.
A Limited user sees and acts on their group's customers only; a Limited user without a
(known) group sees none. Only an Admin deletes groups. These are guard rails for an office,
not security: anyone who can edit the file can edit the Users sheet.

The current user is ``getpass.getuser()``, or the RECEIVABLES_USER environment variable when set
(tests, shared service accounts). Names compare case-insensitively, ignoring a ``DOMAIN\\`` prefix.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .holds import held
from .model import NOWHERE, Book, Origin
from .problems import Problem, error
from .workbook import schema
from .workbook.schema import normalize

if TYPE_CHECKING:
    from .ledger import Ledger

ENV = "RECEIVABLES_USER"
ADMIN, FULL, LIMITED = schema.ROLES


def current_user() -> str:
    """The OS login name (RECEIVABLES_USER overrides it)."""
    name = os.environ.get(ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (e.g. a service without USERNAME): nobody
        return ""


def _login(name: str) -> str:
    return normalize(name.rsplit("\\", 1)[-1])


@dataclass(frozen=True)
class Access:
    """What the current user may do.

    Attributes:
      user: the login name.
      role: Admin, Full or Limited; '' when the user is not on a non-empty Users sheet.
      group: a Limited user's group.
      origin: the user's Users row (NOWHERE when not listed or the sheet is empty).
      everyone: the Users sheet is empty, so everyone is Admin.
      unreadable: the Users sheet's errors when it cannot be read: then nobody has access.
    """

    user: str
    role: str
    group: str = ""
    origin: Origin = NOWHERE
    everyone: bool = False
    unreadable: tuple[Problem, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def listed(self) -> bool:
        return bool(self.role)

    @property
    def limited(self) -> bool:
        return self.role != ADMIN and self.role != FULL

    def not_admin(self, action: str) -> Problem:
        """Why this user may not ``action`` (e.g. "delete a group")."""
        if self.unreadable:
            return held(schema.USERS.name, "", f'user "{self.user}" may not {action} while the Users sheet '
                        "cannot be read", self.unreadable)
        if self.listed:
            return error(self.origin.sheet, self.origin.cell("Role"),
                         f'user "{self.user}" is {self.role}: only an Admin may {action}', "ask an Admin to do it")
        return error(schema.USERS.name, "", f'user "{self.user}" is not on the Users sheet: only an Admin may {action}',
                     "ask an Admin to do it")

    def refusal(self, book: Book) -> Problem | None:
        """Why this user may see no customer at all, or None."""
        if self.unreadable:
            return held(schema.USERS.name, "", f'user "{self.user}" has no access while the Users sheet cannot be read',
                        self.unreadable)
        if not self.listed:
            return error(schema.USERS.name, "", f'user "{self.user}" is not on the Users sheet, so has no access',
                         f'ask an Admin to add a row for "{self.user}" to Users')
        if self.role != LIMITED:
            return None
        if not self.group.strip():
            return error(self.origin.sheet, self.origin.cell("Group"),
                         f'user "{self.user}" is Limited but has no group, so sees no customers',
                         "choose the group this user may see in Group")
        group = next((g for g in book.groups if normalize(g.name) == normalize(self.group)), None)
        if group is None:
            return error(self.origin.sheet, self.origin.cell("Group"),
                         f'group "{self.group}" of user "{self.user}" is not on the Groups sheet, so they see no customers',
                         "choose a group from the Groups sheet")
        from .groups import held_group

        return held_group(book, group, f'user "{self.user}" sees no customers while its members cannot be told')


def access_for(book: Book, user: str | None = None) -> Access:
    """The user's role from the Users sheet (default user: current_user())."""
    name = current_user() if user is None else user
    unreadable = book.holds.unreadable.get(schema.USERS.key, ())
    if unreadable:  # a Users sheet that cannot be read never makes everyone Admin
        return Access(name, "", unreadable=unreadable)
    if not book.users:
        return Access(name, ADMIN, everyone=True)
    key = _login(name)
    roles = {normalize(r): r for r in schema.ROLES}
    for row in book.users:
        if key and _login(row.user) == key:
            return Access(name, roles.get(normalize(row.role), ""), row.group.strip(), row.origin)
    return Access(name, "")


def visible_customer_ids(book: Book, ledger: Ledger | None, as_of: dt.date,
                         user: str | None = None) -> frozenset[str] | None:
    """Customer IDs (as on the Customers sheet) the user may see; None = no restriction."""
    access = access_for(book, user)
    return visible_for(book, ledger, as_of, access)


def visible_for(book: Book, ledger: Ledger | None, as_of: dt.date, access: Access) -> frozenset[str] | None:
    if access.role in (ADMIN, FULL):
        return None
    if access.refusal(book) is not None:
        return frozenset()
    from .groups import members_of

    return frozenset(c.id for c in members_of(book, ledger, access.group, as_of))
