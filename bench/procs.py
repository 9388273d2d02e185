"""Starting the measured servers as processes of their own, and reading their memory.

Each server (Korttid, the SDK echo, the raw echo, the connector) runs in its own Python process so
that one's garbage, imports and event loop never slow another; memory is read from
``/proc/<pid>/status`` (Linux): VmRSS now, VmHWM the peak.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

READY_TIMEOUT = 60.0


class ServerFailed(RuntimeError):
    """A server did not come up; the message names its log file."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory_mb(self) -> dict[str, float]:
        """Resident set now (``rss``) and its peak so far (``peak``), in MB (10^6 bytes)."""
        return read_memory_mb(self.process.pid)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def read_memory_mb(pid: int) -> dict[str, float]:
    values: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {"rss": float("nan"), "peak": float("nan")}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            kilobytes = int(rest.split()[0])
            values["rss" if name == "VmRSS" else "peak"] = kilobytes * 1024 / 1e6
    return values


async def start_server(
    name: str,
    args: Sequence[str],
    *,
    port: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    ready_path: str | None = None,
) -> Server:
    """Start ``python <args>`` and wait until it answers: GET ``ready_path``, or accepts TCP."""
    log = log_dir / f"{name}.log"
    handle = log.open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=handle,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    handle.close()
    server = Server(name, process, port, log)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise ServerFailed(f"{name} exited with {process.returncode}; see {log}")
        if await _answers(server, ready_path):
            return server
        await asyncio.sleep(0.1)
    await server.stop()
    raise ServerFailed(f"{name} did not start within {READY_TIMEOUT:.0f} s; see {log}")


async def _answers(server: Server, ready_path: str | None) -> bool:
    if ready_path is None:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.url + ready_path, timeout=aiohttp.ClientTimeout(total=2)) as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def start_connector(log_dir: Path, *, scale: float | None = None) -> Server:
    port = free_port()
    args = ["-m", "bench.connector", "--port", str(port)]
    if scale:
        args += ["--scale", str(scale)]
    return await start_server("connector", args, port=port, log_dir=log_dir, ready_path=None)
