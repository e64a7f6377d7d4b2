"""A real Ray cluster on this machine for the tests and the Ray benchmark: a head node and
more nodes started as their own processes with ``ray start``, each with its own ports, and
a way to kill one node (its raylet and every process under it) with SIGKILL.

Ray comes from PyPI, pinned (``ensure_ray``); it is installed into this interpreter's
environment when missing.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

RAY_REQUIREMENT = "ray[data,serve]==2.60.0"

# Node loss is noticed within about a second and a half instead of Ray's default 15 s+.
FAST_HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
    # A local test cluster: no token to hand around.
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
}


class RayUnavailable(Exception):
    """Ray is not installed and PyPI could not be reached to install it."""


def ensure_ray() -> None:
    """Imports Ray, installing the pinned version from PyPI first when it is missing. Raises
    RayUnavailable (with pip's own words) when the install fails for want of PyPI."""
    try:
        import ray  # noqa: F401

        return
    except ImportError:
        pass
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", RAY_REQUIREMENT, "pyarrow"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        offline = any(
            marker in tail
            for marker in ("NewConnectionError", "Temporary failure in name resolution", "No matching distribution", "ConnectTimeout", "Network is unreachable")
        )
        if offline:
            raise RayUnavailable(f"PyPI is unreachable, so {RAY_REQUIREMENT} could not be installed: {tail}")
        raise RuntimeError(f"pip install {RAY_REQUIREMENT} failed:\n{tail}")
    import importlib

    importlib.invalidate_caches()
    import ray  # noqa: F401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> str:
    return str(pathlib.Path(sys.executable).parent / "ray")


def _procs() -> Dict[int, tuple]:
    """pid → (ppid, command line) of every process we can see."""
    out = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out[int(entry.name)] = (ppid, cmdline)
    return out


class Cluster:
    """A head and ``add_node``-ed nodes on this machine, in a temp dir of their own."""

    def __init__(self, head_cpus: int = 2, head_resources: Optional[dict] = None) -> None:
        # Unix socket paths must stay short: a short temp dir directly in /tmp.
        self.temp_dir = tempfile.mkdtemp(prefix="ar", dir="/tmp")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = dict(os.environ, **FAST_HEALTH_CHECKS)
        self.node_ports: List[int] = []
        args = [
            "--head",
            f"--port={self.port}",
            f"--ray-client-server-port={free_port()}",
            f"--num-cpus={head_cpus}",
            "--include-dashboard=false",
            # Ray still starts a minimal dashboard process: give it a port of its own too.
            f"--dashboard-port={free_port()}",
        ]
        if head_resources:
            import json

            args.append(f"--resources={json.dumps(head_resources)}")
        self._start(args, free_port())

    def _start(self, args: List[str], node_manager_port: int) -> None:
        cmd = [
            _ray_cli(),
            "start",
            *args,
            f"--temp-dir={self.temp_dir}",
            f"--node-manager-port={node_manager_port}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            "--object-store-memory=200000000",
            "--disable-usage-stats",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{done.stdout}\n{done.stderr}")
        self.node_ports.append(node_manager_port)

    def add_node(self, cpus: int = 2, resources: Optional[dict] = None) -> int:
        """Starts another node; returns its node manager port (its handle for ``kill_node``)."""
        args = [f"--address={self.address}", f"--num-cpus={cpus}"]
        if resources:
            import json

            args.append(f"--resources={json.dumps(resources)}")
        port = free_port()
        self._start(args, port)
        return port

    def node_pids(self, node_manager_port: int) -> List[int]:
        """The node's raylet and every process below it (workers, agents)."""
        procs = _procs()
        raylets = [pid for pid, (_, cmd) in procs.items() if "raylet" in cmd.split(" ", 1)[0] and f"--node_manager_port={node_manager_port}" in cmd]
        found = list(raylets)
        frontier = list(raylets)
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, (ppid, _) in procs.items() if ppid == parent]
            found.extend(children)
            frontier.extend(children)
        return found

    def kill_node(self, node_manager_port: int) -> List[int]:
        """SIGKILLs the node's raylet and its workers, as a machine that loses power would
        stop them; returns the pids killed."""
        pids = self.node_pids(node_manager_port)
        if not pids:
            raise RuntimeError(f"no raylet with node manager port {node_manager_port}")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def stop(self) -> None:
        """Stops every Ray process of this cluster (only this one: it owns the temp dir)."""
        procs = _procs()
        mine = [
            pid
            for pid, (_, cmd) in procs.items()
            if self.temp_dir in cmd or ("ray" in cmd and f":{self.port} " in cmd + " ")
        ]
        for port in self.node_ports:
            mine.extend(self.node_pids(port))
        for pid in set(mine):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
