"""Start the service on a store for a benchmark, as a user starts it, on a free local port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_headers(store: str) -> dict[str, str]:
    """An admin's API token on ``store`` (a bench copy or demo store) as a request header:
    every data route needs sign-in. The account ``bench_admin`` is made on first use."""
    import secrets

    from store.accounts import Accounts

    accounts = Accounts(store)
    try:
        if accounts.get("bench_admin") is None:
            accounts.add("bench_admin", secrets.token_urlsafe(24), "admin", actor="bench")
        token = accounts.issue_token("bench_admin", label="bench", days=1, actor="bench")[1]
    finally:
        accounts.close()
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def serving(store: str, workers: int = 1) -> Iterator[tuple[str, subprocess.Popen]]:
    """``amayesh serve --workers N`` on ``store`` and a free port: its base URL and its process,
    once it answers; stopped on exit. Nothing is warmed: each worker loads its layers and
    computes its analysis at its first request."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "cli", "--store", store, "serve", "--port", str(port)]
    cmd += ["--workers", str(workers), "--quiet"]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(base + "/conformance", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.3)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def running(store: str, workers: int = 1) -> Iterator[tuple[str, dict[str, str]]]:
    """The base URL of a server on ``store`` and an admin's headers for it; stopped on exit."""
    headers = admin_headers(store)
    with serving(store, workers) as (base, _):
        # Steady state: the analysis computed and the low-zoom tiles prepared (which the server
        # does in the background after each load, holding much of the CPU meanwhile).
        httpx.get(base + "/collections/flags/items?limit=1", headers=headers, timeout=300)
        deadline = time.monotonic() + 600
        while not httpx.get(base + "/", headers=headers, timeout=60).json()["tiles_prepared"]:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not prepare its tiles")
            time.sleep(1)
        yield base, headers
