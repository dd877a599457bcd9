"""A 3-node RabbitMQ cluster whose nodes live in network namespaces of their own, so that the
network between them can really fail.

On loopback (cluster.py) every node shares one network stack: a node can be stopped, but not
cut off. Here each node has a namespace `mtin<id>-<n>` with one veth pair: its inner end,
`eth0`, holds 10.a.b.<n>/24; its outer end, `mtiv<id>-<n>`, is a port of the bridge
`mtib<id>` in the root namespace, which holds 10.a.b.254/24. The test process reaches every
node at its address; the nodes reach each other over the bridge. A namespace has its own
ports, so every node listens on 5672 (AMQP), 25672 (distribution) and runs its own epmd on
4369 without touching the machine's broker and epmd in the root namespace.

Nodes use long names with their addresses (`rabbit@10.a.b.1`), run inside their namespace
(`ip netns exec NS runuser -u rabbitmq -- rabbitmq-server`), and so does rabbitmqctl, which
finds the node through the namespace's epmd. They use `cluster_partition_handling = autoheal`,
as every cluster of the suite (docs/operations.md says why not pause_minority): when the
network returns, the nodes of the smaller side restart by themselves and rejoin.

How fast a partition is noticed is `net_ticktime`: a peer is declared down after 1 to 1.25
times it without traffic. Erlang's default (60 s) makes a test wait a minute for each fault;
NET_TICKTIME = 10 s notices one in 10 to 13 s and is still far above what a loaded 2-core
machine stalls for. rabbitmqctl gets the same value: a node drops a peer that stays silent
longer than its own ticktime, so a CLI ticking every 15 s (a quarter of 60) could be dropped
in the middle of a slow command.

Faults:
- `partition(node)` cuts the node off from the other nodes only; clients in the root
  namespace still reach it, as when a node loses its peers but not its clients. Each side's
  neighbour (ARP) entry for the other is replaced by a permanent one pointing at a MAC address
  no interface has (BLACKHOLE_MAC): frames leave the node and the bridge delivers them to no
  one, so TCP to the peers (distribution and epmd alike) goes silent rather than refused, as
  in a real partition. This needs nothing but `ip`: the tc way (prio qdisc, u32 filter,
  `action drop`) does not work on this machine's kernel, which has neither the prio qdisc
  nor the drop action (htb, clsact, u32 and mirred only). A permanent entry is never
  overwritten by ARP traffic; `heal()` flushes them.
- `cut_link(node)` sets the outer end of the node's veth down: everything is cut, clients
  too (a pulled cable). `restore_link(node)` sets it up again.

`close()` stops the nodes, kills whatever still runs in the namespaces (the nodes' epmd
daemonises out of their process group) and removes the veths, namespaces, bridge and
directories, also after a failed or partial start.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from tests.faults import cluster
from tests.faults.cluster import Cluster, Node

T = TypeVar("T")

NET_TICKTIME = 10  # seconds; see the module's docstring
AMQP_PORT = 5672
DIST_PORT = 25672
EPMD_PORT = 4369
INNER = "eth0"  # the node's end of its veth, inside its namespace
BLACKHOLE_MAC = "02:00:00:00:00:00"  # locally administered, carried by no interface
STATUS_TIMEOUT = 30  # a rabbitmqctl question during a fault should not wait for CTL_TIMEOUT

# Run with python in a namespace: does a TCP connection open (exit 0), is it refused (1), does
# it time out, its packets dropped on the way (2), or fail otherwise, with no route say (3)?
PROBE = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()
except ConnectionRefusedError:
    sys.exit(1)
except TimeoutError:
    sys.exit(2)
except OSError:
    sys.exit(3)
"""
Reach = Literal["open", "refused", "silent", "unreachable"]
PROBE_RESULTS: dict[int, Reach] = {0: "open", 1: "refused", 2: "silent", 3: "unreachable"}


def ip(*args: str, check: bool = True) -> str:
    """Run `ip ARGS` (iproute2) and return its output."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def available() -> str | None:
    """Why no namespaced cluster can be started here, or None when one can."""
    if (reason := cluster.available()) is not None:
        return reason
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"mtip{uuid.uuid4().hex[:6]}"
    try:
        ip("netns", "add", probe)
        ip("link", "add", probe, "type", "bridge")
        ip("link", "add", f"{probe}v", "type", "veth", "peer", "name", INNER, "netns", probe)
    except RuntimeError as error:
        return f"cannot build namespaces, bridges and veths here: {error}"
    finally:
        ip("link", "del", f"{probe}v", check=False)
        ip("link", "del", probe, check=False)
        ip("netns", "del", probe, check=False)
    return None


def free_subnet() -> str:
    """A random 10.a.b (a in 100..250) that no address or route of the machine mentions, so
    clusters started side by side do not clash."""
    used = ip("-4", "addr") + ip("-4", "route", "show", "table", "all")
    taken = set(re.findall(r"\b(10\.\d+\.\d+)\.\d+", used))
    for _ in range(100):
        subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 255)}"
        if subnet not in taken:
            return subnet
    raise RuntimeError("no free 10.a.b.0/24 subnet")


class NetnsCluster(Cluster):
    """cluster.Cluster with a namespace per node, and faults of the network between them."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.id = uuid.uuid4().hex[:6]
        self.subnet = free_subnet()
        self.bridge = f"mtib{self.id}"
        self._isolated: set[str] = set()  # partitioned or cut off, by name
        super().__init__(root, size)

    def _make_nodes(self, size: int) -> list[Node]:
        return [
            Node(
                f"rabbit@{self.subnet}.{n}",
                AMQP_PORT,
                DIST_PORT,
                self.root / f"node{n}",
                host=f"{self.subnet}.{n}",
            )
            for n in range(1, size + 1)
        ]

    def namespace(self, node: Node) -> str:
        return f"mtin{self.id}-{self.nodes.index(node) + 1}"

    def veth(self, node: Node) -> str:
        """The outer end of the node's veth, on the bridge in the root namespace."""
        return f"mtiv{self.id}-{self.nodes.index(node) + 1}"

    # What cluster.Cluster runs, run inside the node's namespace with long names.

    def _as_rabbitmq(self, node: Node, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(node), *super()._as_rabbitmq(node, argv)]

    def _env(self, node: Node) -> dict[str, str]:
        return {
            **super()._env(node),
            # Not the machine's /etc/rabbitmq/rabbitmq-env.conf: it pins epmd to 127.0.0.1,
            # and the first rabbitmqctl in a namespace may be what starts its epmd, which the
            # peers must reach at the node's address. (Each node's server has its own file.)
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",
            # rabbitmqctl names itself rabbitmqcli-<n>-<RABBITMQ_NODENAME>: with the node's
            # name, its host is the node's address, which the other nodes can reach. Commands
            # such as list_queues have every node send its part to the CLI directly; named
            # after the machine's hostname instead, the CLI waits for them in vain (60 s).
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_USE_LONGNAME": "true",
            "RABBITMQ_CTL_ERL_ARGS": f"-kernel net_ticktime {NET_TICKTIME}",
        }

    def _server_env(self, node: Node) -> dict[str, str]:
        env = super()._server_env(node)
        env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] += f" -kernel net_ticktime {NET_TICKTIME}"
        return env

    # Life cycle.

    def start(self) -> None:
        """Build the network, then start and join the nodes as cluster.Cluster does."""
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for node in self.nodes:
            namespace, veth = self.namespace(node), self.veth(node)
            ip("netns", "add", namespace)
            ip("-n", namespace, "link", "set", "lo", "up")
            ip("link", "add", veth, "type", "veth", "peer", "name", INNER, "netns", namespace)
            ip("link", "set", veth, "master", self.bridge, "up")
            ip("-n", namespace, "addr", "add", f"{node.host}/24", "dev", INNER)
            ip("-n", namespace, "link", "set", INNER, "up")
        super().start()

    def close(self) -> None:
        """Stop the nodes, then remove everything start() made; each step tolerates what an
        earlier failure left undone."""
        try:
            super().close()
        finally:
            stubborn = []
            for node in self.nodes:
                if not self._kill_everything_in(self.namespace(node)):
                    stubborn.append(self.namespace(node))
                ip("link", "del", self.veth(node), check=False)  # both ends go
                ip("netns", "del", self.namespace(node), check=False)
            ip("link", "del", self.bridge, check=False)
            if stubborn:
                raise RuntimeError(f"processes in {stubborn} do not die: namespaces left")

    def _kill_everything_in(self, namespace: str) -> bool:
        """SIGKILL what still runs in the namespace (epmd, a node that would not stop): a
        namespace with a process in it outlives `ip netns del`, and so does its veth. False
        when something survives ten seconds of it."""
        deadline = time.monotonic() + 10
        while pids := ip("netns", "pids", namespace, check=False).split():
            if time.monotonic() > deadline:
                return False
            subprocess.run(["kill", "-KILL", *pids], capture_output=True, check=False)
            time.sleep(0.1)
        return True

    # Faults.

    def partition(self, node: Node) -> None:
        """Cut `node` off from the other nodes; clients in the root namespace still reach it."""
        for peer in self.nodes:
            if peer is not node:
                self._blackhole(node, peer.host)
                self._blackhole(peer, node.host)
        self._isolated.add(node.name)

    def _blackhole(self, node: Node, address: str) -> None:
        """Make `node` send what it sends to `address` to a MAC address no one has."""
        neighbour = [address, "lladdr", BLACKHOLE_MAC, "nud", "permanent", "dev", INNER]
        ip("-n", self.namespace(node), "neigh", "replace", *neighbour)

    def cut_link(self, node: Node) -> None:
        """Take the node off the bridge: nothing reaches it, clients included."""
        ip("link", "set", self.veth(node), "down")
        self._isolated.add(node.name)

    def restore_link(self, node: Node) -> None:
        ip("link", "set", self.veth(node), "up")
        self._isolated.discard(node.name)

    def heal(self) -> None:
        """Undo every partition and cut link. The nodes rejoin by themselves (wait_healed)."""
        for node in self.nodes:
            ip("-n", self.namespace(node), "neigh", "flush", "dev", INNER, "nud", "permanent")
            ip("link", "set", self.veth(node), "up")
        self._isolated.clear()

    def probe(self, source: Node | None, host: str, port: int, timeout: float = 1.0) -> Reach:
        """Whether a TCP connection from `source`'s namespace (None: the root namespace) to
        host:port opens, is refused, stays silent (dropped on the way) or is unreachable."""
        command = [sys.executable, "-c", PROBE, host, str(port), str(timeout)]
        if source is not None:
            command = ["ip", "netns", "exec", self.namespace(source), *command]
        done = subprocess.run(command, capture_output=True, timeout=timeout + 30, check=False)
        return PROBE_RESULTS[done.returncode]

    # What the nodes say about themselves: one rabbitmqctl call each, all at once.

    def running(self) -> list[Node]:
        """The nodes to ask about the cluster: neither stopped nor cut off by this cluster's
        own faults (a cut-off node knows only itself). Asks no node; after heal(), see
        wait_healed()."""
        return [node for node in super().running() if node.name not in self._isolated]

    def is_running_app(self, node: Node) -> bool:
        """Whether the node's app runs; False while it restarts (autoheal restarts the nodes
        of the smaller side) though its Erlang node answers. Raises RuntimeError when the node
        does not answer."""
        out = self.ctl(node, "eval", "rabbit:is_running().", timeout=STATUS_TIMEOUT)
        return out.strip() == "true"

    def cluster_status(self, node: Node) -> dict[str, Any]:
        out = self.ctl(node, "cluster_status", "--formatter", "json", timeout=STATUS_TIMEOUT)
        status: dict[str, Any] = json.loads(out)
        return status

    def cluster_status_partitions(self) -> dict[str, list[str]]:
        """{node: the nodes it reports a partition with}, as the nodes whose app runs report
        it (cluster_status needs the app: a paused node cannot answer); empty, so falsy,
        when none does."""

        def status(node: Node) -> dict[str, Any]:
            return self.cluster_status(node) if self.is_running_app(node) else {}

        partitions: dict[str, list[str]] = {}
        for answer in self._on_each(status):
            for name, peers in (answer.get("partitions") or {}).items():
                if peers:
                    partitions[name] = sorted(set(partitions.get(name, [])) | set(peers))
        return partitions

    def wait_healed(self, timeout: float = 120.0) -> float:
        """Wait until every node runs its app, sees all the others running and reports no
        partition; return how long that took. Asks each node about once a second."""
        started = time.monotonic()
        while not all(self._on_each(self._healed)):
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"cluster not healed within {timeout}s: {self._states()}")
            time.sleep(1)
        return time.monotonic() - started

    def _states(self) -> dict[str, str]:
        """What each node says of itself, for a failure's message."""

        def state(node: Node) -> str:
            try:
                status = self.cluster_status(node)
                return (
                    f"app running: {self.is_running_app(node)}, running nodes: "
                    f"{status.get('running_nodes')}, partitions: {status.get('partitions')}"
                )
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as error:
                return f"no answer: {str(error)[:300]}"

        return dict(zip((n.name for n in self.nodes), self._on_each(state), strict=True))

    def _healed(self, node: Node) -> bool:
        try:
            if not self.is_running_app(node):
                return False
            status = self.cluster_status(node)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError):  # ValueError: no JSON
            return False
        sees_all = set(status.get("running_nodes") or []) >= {n.name for n in self.nodes}
        return sees_all and not any((status.get("partitions") or {}).values())

    def _on_each(self, ask: Callable[[Node], T]) -> list[T]:
        """`ask` every node in parallel: a rabbitmqctl call takes about a second."""
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            return list(pool.map(ask, self.nodes))
