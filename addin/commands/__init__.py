"""One module per command group; each exposes ``register(subparsers)``."""

# Order of the groups in ``receivables --help``.
MODULES = (
    "init", "check", "groups", "reminders", "statements", "report", "refresh", "daemon",
    "journal", "sent", "excel", "demo",
)
