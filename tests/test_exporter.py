"""The export workers (``services.exporter``) end with the server, even when it is killed outright."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures.process import BrokenProcessPool
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


def test_a_file_that_fails_to_be_written_leaves_no_folder_behind(tmp_path, monkeypatch):
    """An answer's file whose writing fails (here: into a folder that is not there; in the
    service: the rejected rows of an import not yet checked) is an error, and the folder made
    for it is gone; a file written leaves it for the answer, which removes it when sent."""
    import pandas as pd

    from api.deps import MEDIA, download, written_file

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(OSError):
        written_file(
            "amayesh-export-",
            "x.xlsx",
            lambda path: pd.DataFrame({"a": [1]}).to_excel(path.parent / "no" / "x.xlsx"),
            MEDIA["xlsx"],
        )
    assert list(tmp_path.glob("amayesh-export-*")) == []
    response = download(pd.DataFrame({"a": [1, 2]}), "fine", "csv")
    assert Path(response.path).parent.parent == tmp_path
    assert Path(response.path).read_text(encoding="utf-8-sig").startswith("a")


@pytest.mark.processes
def test_an_export_after_a_worker_died_gets_a_new_pool(tmp_path):
    """A worker killed mid-service (out of memory, by hand) fails the export it held at most;
    the next export is written by a new pool (a broken pool refused every later export)."""
    import os
    import signal

    import pandas as pd

    from services import exporter

    frame = pd.DataFrame({"a": [1, 2]})
    exporter.write(frame, tmp_path / "first.csv", layer="t")
    workers = list(exporter._get()._processes)
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(running(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    # The pool may learn of its dead workers on this export: then it fails, and is replaced.
    with contextlib.suppress(BrokenProcessPool):
        exporter.write(frame, tmp_path / "second.csv", layer="t")
    assert (
        exporter.write(frame, tmp_path / "third.csv", layer="t")
        .read_text(encoding="utf-8-sig")
        .startswith("a")
    )
