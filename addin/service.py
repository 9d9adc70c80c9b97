"""Start the daemon at logon: a Task Scheduler task (Windows), a systemd user unit (Linux),
a launchd agent (macOS). Rendering is pure; ``install``/``uninstall`` run the OS tools."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape


def service_name(workbook: Path) -> str:
    """A stable name per workbook: ``receivables-<stem>-<hash>``."""
    digest = hashlib.sha1(str(workbook.resolve()).encode("utf-8")).hexdigest()[:8]
    stem = "".join(ch if ch.isalnum() else "-" for ch in workbook.stem).strip("-").lower() or "workbook"
    return f"receivables-{stem}-{digest}"


def command_line(workbook: Path, python: str = sys.executable) -> list[str]:
    return [python, "-m", "addin", "daemon", str(workbook.resolve())]


def systemd_unit(workbook: Path, python: str = sys.executable) -> str:
    cmd = " ".join(_quote_systemd(a) for a in command_line(workbook, python))
    return (
        "[Unit]\n"
        f"Description=Receivables daemon for {workbook.name}\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        f"ExecStart={cmd}\n"
        f"WorkingDirectory={workbook.resolve().parent}\n"
        "Restart=on-failure\n"
        "RestartSec=60\n"
        "TimeoutStopSec=30\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def task_xml(workbook: Path, python: str = sys.executable, user: str | None = None) -> str:
    """Task Scheduler XML: at logon, restart on failure every minute, no time limit."""
    exe, *args = command_line(workbook, python)
    user = user or os.environ.get("USERNAME", "")
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Description>Receivables daemon for {escape(workbook.name)}</Description></RegistrationInfo>
  <Triggers><LogonTrigger><Enabled>true</Enabled>{f"<UserId>{escape(user)}</UserId>" if user else ""}</LogonTrigger></Triggers>
  <Principals><Principal id="Author"><LogonType>InteractiveToken</LogonType><RunLevel>LeastPrivilege</RunLevel></Principal></Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(exe)}</Command>
      <Arguments>{escape(subprocess.list2cmdline(args))}</Arguments>
      <WorkingDirectory>{escape(str(workbook.resolve().parent))}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"""


def launchd_plist(workbook: Path, python: str = sys.executable) -> str:
    args = "".join(f"    <string>{escape(a)}</string>\n" for a in command_line(workbook, python))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>com.receivables.{escape(service_name(workbook))}</string>
  <key>ProgramArguments</key>
  <array>
{args}  </array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
  <key>WorkingDirectory</key><string>{escape(str(workbook.resolve().parent))}</string>
</dict>
</plist>
"""


@dataclass(frozen=True)
class Step:
    """What installing does: write a file and/or run a command."""

    describe: str
    file: Path | None = None
    content: str = ""
    command: tuple[str, ...] = ()


def install_steps(workbook: Path, platform: str = sys.platform, home: Path | None = None) -> list[Step]:
    name = service_name(workbook)
    home = home or Path.home()
    if platform == "win32":
        xml = Path(os.environ.get("TEMP", str(home))) / f"{name}.xml"
        return [
            Step(f"write the task definition {xml}", xml, task_xml(workbook)),
            Step(f"register the Task Scheduler task {name!r} (at logon, restart on failure)",
                 command=("schtasks", "/Create", "/TN", name, "/XML", str(xml), "/F")),
            Step("start it now", command=("schtasks", "/Run", "/TN", name)),
        ]
    if platform == "darwin":
        plist = home / "Library" / "LaunchAgents" / f"com.receivables.{name}.plist"
        return [
            Step(f"write the launch agent {plist}", plist, launchd_plist(workbook)),
            Step("load it (starts now and at every logon)", command=("launchctl", "load", "-w", str(plist))),
        ]
    unit = home / ".config" / "systemd" / "user" / f"{name}.service"
    return [
        Step(f"write the systemd user unit {unit}", unit, systemd_unit(workbook)),
        Step("reload systemd", command=("systemctl", "--user", "daemon-reload")),
        Step(f"enable and start {name}.service (at every logon)",
             command=("systemctl", "--user", "enable", "--now", f"{name}.service")),
    ]


def uninstall_steps(workbook: Path, platform: str = sys.platform, home: Path | None = None) -> list[Step]:
    name = service_name(workbook)
    home = home or Path.home()
    if platform == "win32":
        return [Step(f"delete the Task Scheduler task {name!r}", command=("schtasks", "/Delete", "/TN", name, "/F"))]
    if platform == "darwin":
        plist = home / "Library" / "LaunchAgents" / f"com.receivables.{name}.plist"
        return [Step("unload the launch agent", command=("launchctl", "unload", "-w", str(plist))),
                Step(f"delete {plist}", plist)]
    unit = home / ".config" / "systemd" / "user" / f"{name}.service"
    return [
        Step(f"stop and disable {name}.service",
             command=("systemctl", "--user", "disable", "--now", f"{name}.service")),
        Step(f"delete {unit}", unit),
        Step("reload systemd", command=("systemctl", "--user", "daemon-reload")),
    ]


def carry_out(steps: list[Step], *, dry_run: bool = False, uninstall: bool = False) -> list[str]:
    """Run the steps, returning one line per step (what was done, or what failed)."""
    lines = []
    for step in steps:
        if dry_run:
            lines.append(f"would {step.describe}" + (f": {' '.join(step.command)}" if step.command else ""))
            continue
        try:
            if step.file and uninstall:
                step.file.unlink(missing_ok=True)
            elif step.file:
                step.file.parent.mkdir(parents=True, exist_ok=True)
                encoding = "utf-16" if step.file.suffix == ".xml" else "utf-8"
                step.file.write_text(step.content, encoding=encoding)
            if step.command:
                subprocess.run(step.command, check=True, capture_output=True, text=True, timeout=60)
            lines.append(f"done: {step.describe}")
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            lines.append(f"failed: {step.describe} — {str(detail).strip()}")
            break
    return lines


def _quote_systemd(arg: str) -> str:
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"' if (" " in arg or '"' in arg) else arg
