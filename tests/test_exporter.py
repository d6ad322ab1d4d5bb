"""The export workers (``services.exporter``) end with the server, even when it is killed outright."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        here = todo.pop()
        try:
            children = [int(c) for c in Path(f"/proc/{here}/task/{here}/children").read_text().split()]
        except FileNotFoundError:
            continue
        found += children
        todo += children
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.processes
def test_export_workers_end_when_the_server_is_killed(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, threading
        sys.path.insert(0, {str(ROOT)!r})
        import pandas as pd
        from pathlib import Path
        from services import exporter
        exporter.write(pd.DataFrame({{"a": [1, 2]}}), Path({str(tmp_path / "out.csv")!r}), layer="t", fmt="csv")
        print("written", flush=True)
        threading.Event().wait()
        """
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "written"
        assert (tmp_path / "out.csv").exists()
        helpers = descendants(server.pid)  # the fork server, its worker, the resource tracker
        assert len(helpers) >= 2
        server.kill()
        server.wait(5)
        deadline = time.monotonic() + 15
        while any(running(p) for p in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in helpers if running(p)]
    finally:
        server.kill()
        server.stdout.close()
