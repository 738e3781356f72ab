"""CPU time and peak memory of processes, read from /proc.

CPU is utime + stime + cutime + cstime of /proc/<pid>/stat (children that were
waited for count to their parent), in clock ticks. A `Tracker` follows groups of
processes (the gateway's master and workers, each service, the database's
backends, RabbitMQ) through one scenario: processes that start during it are
counted from zero, processes that end during it keep their last sample.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class Stat:
    pid: int
    comm: str
    ppid: int
    cpu_ticks: int  # utime + stime + cutime + cstime
    start_ticks: int  # since boot


def parse_stat(text: str) -> Stat:
    """Parse a /proc/<pid>/stat line. The command name is in parentheses and may hold
    spaces or parentheses itself, so split at the last ')'."""
    head, _, rest = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    fields = rest.split()
    # fields[0] is field 3 (state); utime..cstime are fields 14-17, starttime field 22
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return Stat(int(pid_text), comm, ppid, utime + stime + cutime + cstime, int(fields[19]))


def parse_hwm_kb(status_text: str) -> int | None:
    """VmHWM (peak resident set) in kB from /proc/<pid>/status; None for a kernel thread."""
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def read_stat(pid: int) -> Stat | None:
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return None  # gone, or not ours to read


def peak_rss_mb(pid: int) -> float | None:
    try:
        kb = parse_hwm_kb((PROC / str(pid) / "status").read_text())
    except OSError:
        return None
    return None if kb is None else round(kb / 1024, 1)


def cmdline(pid: int) -> list[str]:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def all_stats() -> list[Stat]:
    stats = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats.append(stat)
    return stats


def descendants(root: int, stats: Iterable[Stat] | None = None) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for s in all_stats() if stats is None else stats:
        children.setdefault(s.ppid, []).append(s.pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def by_comm(name: str) -> list[int]:
    return [s.pid for s in all_stats() if s.comm == name]


def boot_ticks_now() -> int:
    """Now, in clock ticks since boot (the unit of a process's start time)."""
    return int(float((PROC / "uptime").read_text().split()[0]) * TICKS)


Finder = Callable[[], Iterable[int]]


@dataclass
class Tracker:
    """CPU of process groups over one interval: `start()`, the work, `stop()` → ms per group."""

    groups: dict[str, Finder]
    interval: float = 0.5
    _first: dict[tuple[str, int], int] = field(default_factory=dict)
    _last: dict[tuple[str, int], int] = field(default_factory=dict)
    _began: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        for group, finder in self.groups.items():
            try:
                pids = list(finder())
            except Exception:  # noqa: BLE001 - a finder that fails this once (database busy) counts nothing new
                continue
            for pid in pids:
                stat = read_stat(pid)
                if stat is None:
                    continue
                key = (group, pid)
                if key not in self._first:
                    # started during the interval: all of its time is the interval's
                    self._first[key] = 0 if stat.start_ticks >= self._began else stat.cpu_ticks
                self._last[key] = stat.cpu_ticks

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self._first.clear()
        self._last.clear()
        self._began = boot_ticks_now()
        self._sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        return cpu_ms_by_group(self._first, self._last)


def cpu_ms_by_group(first: dict[tuple[str, int], int], last: dict[tuple[str, int], int]) -> dict[str, float]:
    """Sum of (last - first) ticks per group, in ms."""
    totals: dict[str, int] = {}
    for (group, pid), ticks in last.items():
        totals[group] = totals.get(group, 0) + max(0, ticks - first.get((group, pid), ticks))
    return {group: round(ticks * 1000 / TICKS, 1) for group, ticks in sorted(totals.items())}
