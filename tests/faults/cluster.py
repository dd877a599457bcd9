"""The suite's own 3-node RabbitMQ cluster, started beside the machine's broker.

Every node has its own name, ports, data, log and config directories (owned by the `rabbitmq`
user) and no plugins, so nothing clashes with the machine's broker on 5672/25672/15672, which
the suite never touches. The Erlang cookie in /var/lib/rabbitmq is shared, so `rabbitmqctl -n
NODE` reaches every node and `join_cluster` works. `close()` stops the nodes and removes
their directories.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
RABBITMQ_HOME = "/var/lib/rabbitmq"  # where the shared Erlang cookie lives
CTL_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> str | None:
    """Why no cluster can be started here, or None when one can."""
    if not (RABBITMQ_BIN / "rabbitmq-server").exists():
        return "RabbitMQ's server scripts are not installed"
    if os.geteuid() != 0:
        return "starting nodes as the rabbitmq user needs root"
    return None


@dataclass
class Node:
    name: str
    amqp_port: int
    dist_port: int
    base: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"  # where its listeners are, and clients reach it

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{self.host}:{self.amqp_port}/"


class Cluster:
    def __init__(self, root: Path, size: int = 3) -> None:
        self.root = root
        self.nodes = self._make_nodes(size)
        self._stopped: set[str] = set()

    def _make_nodes(self, size: int) -> list[Node]:
        prefix = f"mtif{uuid.uuid4().hex[:6]}"
        return [
            Node(f"{prefix}-{n}@localhost", free_port(), free_port(), self.root / f"node{n}")
            for n in range(1, size + 1)
        ]

    @property
    def urls(self) -> str:
        """The comma-separated node list, as MTI_AMQP_URL takes it."""
        return ",".join(node.url for node in self.nodes)

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def ctl(
        self, node: Node, *args: str, timeout: float = CTL_TIMEOUT, tool: str = "rabbitmqctl"
    ) -> str:
        result = subprocess.run(
            self._as_rabbitmq(node, [str(RABBITMQ_BIN / tool), "-n", node.name, *args]),
            env=self._env(node),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} on {node.name}: {result.stderr}")
        return result.stdout

    def _as_rabbitmq(self, node: Node, argv: list[str]) -> list[str]:
        """The command line that runs `argv` as the rabbitmq user, where `node` can be reached
        (here: anywhere; a subclass may run it elsewhere, in a network namespace say)."""
        return ["runuser", "-u", "rabbitmq", "--", *argv]

    def _env(self, node: Node) -> dict[str, str]:
        """The environment of `node`'s server and of rabbitmqctl calls on it: HOME finds the
        shared cookie."""
        return {"HOME": RABBITMQ_HOME, "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}

    def _config(self, node: Node) -> str:
        """The node's rabbitmq.conf."""
        return (
            f"listeners.tcp.default = {node.host}:{node.amqp_port}\n"
            "loopback_users = none\n"
            # The machine is shared: do not let a busy disk raise alarms the test did not ask for.
            "disk_free_limit.absolute = 1MB\n"
            # What docs/operations.md recommends ("Partition handling"), and why.
            "cluster_partition_handling = autoheal\n"
        )

    def _server_env(self, node: Node) -> dict[str, str]:
        """rabbitmq-server's environment: the node's name, ports and own directories."""
        erl_ip = "{" + node.host.replace(".", ",") + "}"  # as Erlang writes it: {127,0,0,1}
        return {
            **self._env(node),
            "RABBITMQ_CONF_ENV_FILE": str(node.base / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": node.host,
            "RABBITMQ_NODE_PORT": str(node.amqp_port),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_MNESIA_BASE": str(node.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(node.base / "log"),
            "RABBITMQ_CONFIG_FILE": str(node.base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(node.base / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": f"-kernel inet_dist_use_interface {erl_ip}",
        }

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "rabbitmq", "rabbitmq")
        for node in self.nodes:
            self._launch(node)
        for node in self.nodes:
            self._await_startup(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        for node in self.nodes:
            self.ctl(node, "await_startup")

    def _launch(self, node: Node) -> None:
        for sub in ("mnesia", "log"):
            (node.base / sub).mkdir(parents=True, exist_ok=True)
        (node.base / "enabled_plugins").write_text("[].\n")
        (node.base / "rabbitmq-env.conf").write_text("")
        (node.base / "rabbitmq.conf").write_text(self._config(node))
        for path in [node.base, *node.base.rglob("*")]:
            shutil.chown(path, "rabbitmq", "rabbitmq")
        with (node.base / "server.out").open("wb") as out:
            node.process = subprocess.Popen(
                self._as_rabbitmq(node, [str(RABBITMQ_BIN / "rabbitmq-server")]),
                env=self._server_env(node),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _await_startup(self, node: Node) -> None:
        deadline = time.monotonic() + CTL_TIMEOUT
        while True:
            assert node.process is not None
            if node.process.poll() is not None:
                raise RuntimeError(f"{node.name} exited:\n{(node.base / 'server.out').read_text()}")
            try:
                self.ctl(node, "await_startup", "--timeout", "10", timeout=30)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def stop_app(self, node: Node) -> None:
        self.ctl(node, "stop_app")
        self._stopped.add(node.name)

    def start_app(self, node: Node) -> None:
        self.ctl(node, "start_app")
        self.ctl(node, "await_startup")
        self._stopped.discard(node.name)

    def running(self) -> list[Node]:
        """The nodes whose app runs (every rabbitmqctl call costs a second or two: this one
        asks none)."""
        return [node for node in self.nodes if node.name not in self._stopped]

    def queue_info(self, queue: str) -> dict[str, str]:
        """leader and members of a quorum queue, as the cluster reports them."""
        node = self.running()[0]
        out = self.ctl(
            node, "list_queues", "name", "leader", "members", "--quiet", "--no-table-headers"
        )
        for line in out.splitlines():
            parts = line.split("\t")
            if parts[0] == queue:
                return {"leader": parts[1], "members": parts[2]}
        raise KeyError(queue)

    def connections(self) -> list[tuple[str, str, str]]:
        """(pid, node, connection name) of every client connection in the cluster."""
        out = self.ctl(
            self.running()[0],
            "list_connections",
            "pid",
            "client_properties",
            "--quiet",
            "--no-table-headers",
        )
        rows = []
        for line in out.splitlines():
            pid, _, properties = line.partition("\t")
            name = re.search(r'\{"connection_name","([^"]*)"\}', properties)
            # A connection pid reads <node.serial.number.creation>.
            node = pid.strip("<>").rsplit(".", 3)[0]
            rows.append((pid, node, name.group(1) if name else ""))
        return rows

    def close_connections(self, pids: list[str]) -> None:
        """Force-close these connections, all at once (one rabbitmqctl call takes a second)."""
        node = self.running()[0]
        with ThreadPoolExecutor(max(len(pids), 1)) as pool:
            list(pool.map(lambda pid: self.ctl(node, "close_connection", pid, "fault"), pids))

    def set_memory_alarm(self, on: bool) -> None:
        """A memory alarm blocks every publisher of the cluster; off restores the default."""
        for node in self.running():
            if on:
                self.ctl(node, "set_vm_memory_high_watermark", "absolute", "1")
            else:
                self.ctl(node, "set_vm_memory_high_watermark", "0.4")

    def alarms_in_effect(self) -> bool:
        try:
            self.ctl(self.running()[0], "check_alarms", tool="rabbitmq-diagnostics")
        except RuntimeError:
            return True
        return False

    def close(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self.ctl(node, "stop", timeout=60)
                try:
                    node.process.wait(30)
                except subprocess.TimeoutExpired:
                    subprocess.run(["pkill", "-KILL", "-s", str(node.process.pid)], check=False)
                    node.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


C = TypeVar("C", bound=Cluster)


@contextlib.contextmanager
def started(kind: type[C], prefix: str) -> Iterator[C]:
    """A cluster of `kind` in a fresh directory, started; its nodes and directories removed
    afterwards, whatever happened."""
    nodes = kind(Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.close()
