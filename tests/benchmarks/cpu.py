"""CPU time per process group, read from /proc before and after a benchmark phase.

CPU-ms per invocation is the figure that survives a busy machine: a process's own CPU time
does not grow because another process holds the core, whereas its throughput falls. Groups:
the roles the benchmark started (by pid), and the shared services found by name: RabbitMQ's
`beam.smp`, `redis-server`, and PostgreSQL (the backends of the benchmark's own database plus
the server's auxiliary processes such as the WAL writer). The shared services also serve
whoever else uses them at the same time, so their figures are upper bounds on a busy machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
# Processes of the PostgreSQL server that serve every database (not per-database backends).
POSTGRES_AUXILIARIES = (
    "checkpointer",
    "background writer",
    "walwriter",
    "wal writer",
    "autovacuum launcher",
    "logical replication launcher",
    "stats collector",
)


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of one process, in clock ticks; None when it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def _cmdline(pid: str) -> str:
    try:
        return (PROC / pid / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on a local TCP port (IPv4 or IPv6)."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _listens(pid: int, inodes: set[str]) -> bool:
    try:
        fds = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def service_pids(database: str, broker_port: int = 5672) -> dict[str, list[int]]:
    """The shared services' processes, by group. The broker is the `beam.smp` that listens on
    `broker_port` (another RabbitMQ node on the machine, a cluster under test, is not ours)."""
    groups: dict[str, list[int]] = {"broker": [], "postgres": [], "redis": []}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm == "beam.smp":
            groups["broker"].append(int(entry.name))
        elif comm.startswith("redis-server"):
            groups["redis"].append(int(entry.name))
        elif comm == "postgres":
            title = _cmdline(entry.name)
            ours = f" {database} " in title
            auxiliary = not title.startswith("postgres:") or any(
                title.rstrip().endswith(name) for name in POSTGRES_AUXILIARIES
            )
            if ours or auxiliary:
                groups["postgres"].append(int(entry.name))
    if len(groups["broker"]) > 1:
        inodes = _listening_inodes(broker_port)
        groups["broker"] = [pid for pid in groups["broker"] if _listens(pid, inodes)]
    return groups


@dataclass
class Snapshot:
    ticks: dict[str, dict[int, int]] = field(default_factory=dict)  # group -> pid -> ticks


def snapshot(groups: dict[str, list[int]]) -> Snapshot:
    taken = Snapshot()
    for group, pids in groups.items():
        taken.ticks[group] = {pid: t for pid in pids if (t := cpu_ticks(pid)) is not None}
    return taken


def spent_ms(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU milliseconds each group spent between two snapshots (a process that appeared in
    between counts from zero; one that ended in between is not counted)."""
    spent: dict[str, float] = {}
    for group, now in after.ticks.items():
        then = before.ticks.get(group, {})
        spent[group] = sum(t - then.get(pid, 0) for pid, t in now.items()) * TICK_MS
    return spent


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages: how busy the machine was around the figures."""
    try:
        return [float(v) for v in (PROC / "loadavg").read_text().split()[:3]]
    except OSError:
        return []
