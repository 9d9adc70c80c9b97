"""Process checks that work on Windows, macOS and Linux (no psutil needed)."""

from __future__ import annotations

import os
import socket
import sys


def pid_alive(pid: int) -> bool:
    """Whether a process with this id is running (ours or another user's)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it's just not ours
    return True


def _pid_alive_windows(pid: int) -> bool:  # pragma: no cover - exercised on Windows only
    import ctypes
    from ctypes import wintypes

    process_query_limited_information = 0x1000
    still_active = 259
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # access denied: it exists
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


_doing = ""  # what this process does, e.g. "reminders run" (written into our lock files)


def set_doing(text: str) -> None:
    """Say what this process does (the command, "daemon", "Excel: Send reminders")."""
    global _doing
    _doing = text


def doing() -> str:
    return _doing


def holder(host: str, pid: int | str, what: str = "") -> str:
    """Another of our processes, named for a person: ``receivables (pid 4242: reminders run)``."""
    where = "" if host in ("", socket.gethostname()) else f" on {host}"
    return f"receivables{where} (pid {pid}{': ' + what if what else ''})"
