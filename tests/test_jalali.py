"""The pages' Jalali dates, by hand, in the fast loop: the server's (``maps.i18n.jalali_date``)
and the pages' script (``maps/static/common.js``, run in Node.js: no browser needed).

Known days: Nowruz 1404 fell on 21 March 2025, the last day of 1402 was 19 March 2024, and
22 Bahman 1357 is 11 February 1979.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess

import pytest

from maps.i18n import jalali_date
from tests.conftest import ROOT

DAYS = [
    ("2025-03-21", "۱ فروردین ۱۴۰۴", "1 Farvardin 1404", "Farvardin 1, 1404"),
    ("2024-03-19", "۲۹ اسفند ۱۴۰۲", "29 Esfand 1402", "Esfand 29, 1402"),
    ("2024-03-20", "۱ فروردین ۱۴۰۳", "1 Farvardin 1403", "Farvardin 1, 1403"),
    ("1979-02-11", "۲۲ بهمن ۱۳۵۷", "22 Bahman 1357", "Bahman 22, 1357"),
]


@pytest.mark.parametrize(("iso", "fa", "en", "_"), DAYS)
def test_the_servers_jalali_dates(iso, fa, en, _):
    day = dt.date.fromisoformat(iso)
    assert jalali_date(day, "fa") == fa
    assert jalali_date(day, "en") == f"{en} ({iso})"


def test_the_pages_script_writes_the_same_jalali_dates():
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js (npm's package nodejs)")
    script = (
        "global.window = {}; require(process.argv[1]); const A = window.Amayesh; const out = {};"
        "for (const lang of ['fa', 'en']) { A.C.lang = lang; out[lang] = JSON.parse(process.argv[2])"
        ".map((d) => A.u.jalali(d)); } console.log(JSON.stringify(out));"
    )
    days = [iso for iso, *_ in DAYS]
    run = subprocess.run(
        [node, "-e", script, str(ROOT / "maps" / "static" / "common.js"), json.dumps(days)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["fa"] == [fa for _, fa, _, _ in DAYS]
    assert out["en"] == [f"{en_js} AP ({iso})" for iso, _, _, en_js in DAYS]
