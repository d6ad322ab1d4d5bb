"""The command line's import leftovers: where the rejected-rows report goes, and refused paths.

``amayesh import ngos /etc/passwd`` once wrote ``/etc/passwd.rejected.csv``; a ``/vsicurl/`` path
ended in a traceback. The report now goes where ``--rejected`` says or into the working folder,
and every refused path ends with its reason and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cli.main import main
from store import open_store
from tests import small_world
from tests.small_world import layers


@pytest.fixture
def store_url(tmp_path) -> str:
    url = str(tmp_path / "store" / "s.gpkg")
    small_world.gpkg(url)
    return url


def test_report_of_a_system_file_goes_to_the_working_folder(store_url, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code = main(["--store", store_url, "import", "ngos", "/etc/passwd"])
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err
    assert not Path("/etc/passwd.rejected.csv").exists()
    report = work / "passwd.rejected.csv"
    assert report.is_file() and str(report) in err
    assert set(pd.read_csv(report, encoding="utf-8-sig")["reason"]) == {"format"}


def test_report_goes_where_asked(store_url, tmp_path, capsys):
    target = tmp_path / "reports" / "mine.csv"
    target.parent.mkdir()
    code = main(["--store", store_url, "import", "ngos", "/etc/passwd", "--rejected", str(target)])
    assert code == 3 and target.is_file()
    capsys.readouterr()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/vsicurl/http://127.0.0.1:9/ngos.csv", "remote_source"),
        ("/vsizip//etc/passwd.zip/passwd.csv", "remote_source"),
        ("http://127.0.0.1:9/ngos.geojson", "remote_source"),
        ("/proc/self/environ", "format"),
        ("/proc/no-such-file.csv", "file"),
    ],
)
def test_refused_paths_end_with_their_reason(store_url, tmp_path, monkeypatch, capsys, path, reason):
    monkeypatch.chdir(tmp_path)
    code = main(["--store", store_url, "import", "ngos", path])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert err.startswith("error: ")
    reports = list(tmp_path.glob("*.rejected.csv"))
    assert len(reports) == 1
    assert set(pd.read_csv(reports[0], encoding="utf-8-sig")["reason"]) == {reason}
    assert store_url and len(open_store(store_url).read_layer("ngos")) == len(layers()["ngos"])
