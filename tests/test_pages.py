"""The map pages rendered to a string, without a browser or a server (the browser tests are in
``test_maps.py``): language and direction, the notices, and that nothing comes from outside."""

from __future__ import annotations

import json
import re

import pytest

from geo.decisions import CRITERIA, priority_weights
from geo.schema import DEFAULT_SERVICE_TYPES
from maps.assets import APP_URL, VENDOR_URL
from maps.notices import ATTRIBUTION, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from maps.pages import PAGES, Context, build_page
from maps.tiles import MAX_ZOOM
from tests.analysis_world import demo_norms


def context(**params: str) -> Context:
    return Context(
        provinces=[("00", "استان آزمون", "Test province"), ("01", "استان دوم", "Second province")],
        services=[(code, fa, en) for code, (fa, en) in DEFAULT_SERVICE_TYPES.items()],
        criteria=CRITERIA,
        default_weights=priority_weights(None, demo_norms().priority_weights),
        attribution=ATTRIBUTION,
        notice={"fa": SYNTHETIC_NOTICE_FA, "en": SYNTHETIC_NOTICE_EN},
        tile_max_zoom=MAX_ZOOM,
        params=params,
    )


@pytest.mark.parametrize("lang", ["fa", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_a_page_is_whole_in_its_language_and_loads_nothing_from_outside(page, lang):
    html = build_page(page, lang, context())
    opening = re.search(r"<html[^>]*>", html).group(0)
    assert f'lang="{lang}"' in opening
    assert ('dir="rtl"' in opening) == (lang == "fa")
    assert (SYNTHETIC_NOTICE_FA if lang == "fa" else SYNTHETIC_NOTICE_EN) in html
    # Handed to the map's attribution control as JSON that is safe in HTML («Who's» as \u0027).
    assert json.dumps(ATTRIBUTION).replace("'", "\\u0027") in html
    if page != "licence":  # the province selector
        name = "استان آزمون" if lang == "fa" else "Test province"
        assert name in html or json.dumps(name) in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    for url in sources:
        assert not re.match(r"^(https?:)?//", url), f"{page}/{lang} loads {url} from outside"
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert scripts and all(s.startswith((VENDOR_URL, APP_URL)) for s in scripts)


def test_the_page_state_is_kept_in_its_links():
    html = build_page("licence", "fa", context(service="kindergarten", lat="34.10000", lon="49.70000"))
    assert "lang=en" in html and "service=kindergarten" in html and "lat=34.10000" in html


def test_unknown_page_or_language_is_refused():
    with pytest.raises(ValueError, match="no page"):
        build_page("weather", "fa", context())
    with pytest.raises(ValueError, match="no language"):
        build_page("national", "de", context())
