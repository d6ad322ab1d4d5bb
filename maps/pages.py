"""The map pages, built with folium: national map, licence check, village priorities, planning.

folium writes the page, the Leaflet map, its layer control and the settlement vector tiles; the
panels are Jinja templates (``maps/templates``) and the behaviour is ``maps/static/common.js``
with one script per page (``maps/static/<page>.js``), which read the data from the API. Every
script, style sheet and font is served by the service itself from installed packages (``maps/web``, see ``maps.assets``): a page asks no outside host
for anything unless a base map URL is configured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlencode

import branca.element
import folium
import jdatetime
import jinja2
from folium.elements import JSCSSMixin
from folium.plugins import VectorGridProtobuf
from folium.template import Template

from maps.assets import APP_URL as APP
from maps.assets import VENDOR_URL as VENDOR
from maps.i18n import LANGUAGES, jalali_date, strings

PAGES = ("national", "licence", "priorities", "plan")
#: The pages of the top bar, in its order: the map pages and the office's (maps/office.py); the
#: caller's rights choose which of them a page links (``Context.pages``).
NAV_PAGES = (*PAGES, "register", "monitoring", "activities", "import")
#: Pages reached from the others (not in the top bar): a settlement's profile.
PROFILE_PAGES = ("settlement",)
#: Where the map opens: all of Iran.
IRAN_CENTRE = (32.4, 53.7)
IRAN_ZOOM = 5

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class LocalMap(folium.Map):
    """A folium map whose Leaflet comes from this service, not a CDN (and nothing else is loaded:
    folium's default Bootstrap, jQuery and icon fonts are not used by these pages)."""

    default_js: ClassVar = [("leaflet", f"{VENDOR}/leaflet/leaflet.js")]
    default_css: ClassVar = [("leaflet_css", f"{VENDOR}/leaflet/leaflet.css")]


class LocalVectorGrid(VectorGridProtobuf):
    """folium's VectorGrid layer with the plugin served locally."""

    default_js: ClassVar = [("vectorGrid", f"{VENDOR}/vectorgrid/Leaflet.VectorGrid.bundled.min.js")]


class Page(branca.element.Figure):
    """A folium figure that declares its language and writing direction."""

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.lang }}" dir="{{ this.dir }}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<link rel="icon" href="data:,">\n'
        "{% if this.title %}<title>{{ this.title }}</title>{% endif %}\n"
        "    {{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        '<body class="am-page am-{{ this.page }}">\n'
        "    {{ this.html.render(**kwargs) }}\n"
        "</body>\n"
        "<script>\n"
        "    {{ this.script.render(**kwargs) }}\n"
        "</script>\n"
        "</html>\n"
    )

    def __init__(self, page: str, lang: str, title: str) -> None:
        super().__init__(title=title)
        self.page = page
        self.lang = lang
        self.dir = "rtl" if lang == "fa" else "ltr"


class Start(JSCSSMixin, folium.MacroElement):
    """Loads the page's scripts (after Leaflet) and hands them the map and its folium-made layers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        Amayesh.{{ this.page }}({{ this._parent.get_name() }}, {
            {% for key, element in this.elements.items() %}
            {{ key|tojson }}: {{ element.get_name() }},
            {% endfor %}
        }, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(
        self, page: str, elements: Mapping[str, folium.Element], config: dict, scripts: Sequence[str]
    ) -> None:
        super().__init__()
        self._name = "AmayeshStart"
        self.default_js = [(src.rsplit("/", 1)[-1], src) for src in scripts]
        self.page = page
        self.elements = dict(elements)
        self.config = config


@dataclass(frozen=True)
class Context:
    """What a page needs to know about the data and the deployment."""

    provinces: Sequence[tuple[str, str, str]]  # code, Persian name, English name
    services: Sequence[tuple[str, str, str]]  # code, Persian label, English label
    criteria: Sequence[str]
    default_weights: Mapping[str, float]
    attribution: str
    notice: Mapping[str, str]  # language -> the synthetic-data notice
    tile_max_zoom: int
    #: the day licence statuses are read at, and where it came from (setting, registry, today)
    as_of: dt.date = field(default_factory=dt.date.today)
    as_of_source: str = "today"
    basemap_url: str | None = None
    basemap_attribution: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    #: the pages the top bar links to: those the caller may open
    pages: Sequence[str] = PAGES
    #: the travel cost of the norms: "straight" (outreach in km) or "roads" (in minutes)
    travel: str = "straight"
    #: the catalogue's delivery modes per service (code -> modes, the main one first)
    service_modes: Mapping[str, Sequence[str]] = field(default_factory=dict)


def page_url(page: str, lang: str, params: Mapping[str, str]) -> str:
    query = {"lang": lang, **{k: v for k, v in params.items() if v and k not in ("lang", "code")}}
    return f"/maps/{page}?{urlencode(query)}"


def _profile_url(lang: str, params: Mapping[str, str]) -> str:
    return f"/maps/settlements/{params.get('code', '')}?{urlencode({'lang': lang})}"


def _shared(params: Mapping[str, str]) -> dict[str, str]:
    """What a page passes on to the others through the top bar."""
    return {k: v for k, v in params.items() if k in ("province", "service")}


#: How many Jalali years the national map's period selector offers (the as-of day's and earlier).
PERIOD_YEARS = 4


def period_choices(as_of: dt.date, lang: str) -> list[dict[str, str]]:
    """The national map's periods (``code``, ``name``): the as-of day's figures (code ``""``, the
    default), then the
    as-of day's Jalali year and the ``PERIOD_YEARS - 1`` before it, latest first."""
    text = strings(lang)
    year = jdatetime.date.fromgregorian(date=as_of).year
    digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹") if lang == "fa" else None
    out = [{"code": "", "name": text["period_now"].format(date=jalali_date(as_of, lang))}]
    for y in range(year, year - PERIOD_YEARS, -1):
        label = str(y).translate(digits) if digits else str(y)
        out.append({"code": str(y), "name": text["period_end"].format(period=label)})
    return out


def build_page(page: str, lang: str, ctx: Context) -> str:
    """The HTML of one page in ``lang`` (``fa`` or ``en``)."""
    if page not in PAGES + PROFILE_PAGES:
        raise ValueError(f"no page {page!r}; pages: {', '.join(PAGES + PROFILE_PAGES)}")
    if lang not in LANGUAGES:
        raise ValueError(f"no language {lang!r}; languages: {', '.join(LANGUAGES)}")
    text = strings(lang, {c: (fa, en) for c, fa, en in ctx.services})
    i = LANGUAGES.index(lang)
    other = LANGUAGES[1 - i]
    figure = Page(page, lang, f"{text['page_' + page]} · {text['app']}")
    for href in (
        f"{VENDOR}/vazirmatn/400.css",
        f"{VENDOR}/vazirmatn/700.css",
        f"{APP}/amayesh.css",
    ):
        figure.header.add_child(branca.element.CssLink(href), name=href.rsplit("/", 1)[-1])
    extra_js = [f"{APP}/common.js", f"{APP}/{page}.js"]
    if page == "national":
        extra_js.insert(0, f"{VENDOR}/supercluster/supercluster.min.js")

    provinces = [{"code": c, "name": (fa, en)[i] or fa} for c, fa, en in ctx.provinces]
    services = [
        {"code": c, "name": (fa, en)[i], "modes": list(ctx.service_modes.get(c, ("centre",)))}
        for c, fa, en in ctx.services
    ]
    province = ctx.params.get("province") or ""
    service = ctx.params.get("service") or ctx.services[0][0]
    panel = _templates.get_template(f"{page}.html").render(
        periods=period_choices(ctx.as_of, lang),
        period=ctx.params.get("period") or "",
        t=text,
        lang=lang,
        provinces=provinces,
        services=services,
        province=province,
        service=service,
        criteria=ctx.criteria,
        weights=ctx.default_weights,
        params=ctx.params,
        travel=ctx.travel,
    )
    # A stated day (the setting's, or a registry's own such as the demo's) is fixed: said so.
    fixed = ctx.as_of_source != "today"
    as_of_key = "as_of_fixed" if fixed else "as_of"
    header = _templates.get_template("header.html").render(
        t=text,
        lang=lang,
        page=page,
        # The office pages take no province or service (they refuse parameters they do not name).
        pages=[
            (p, page_url(p, lang, _shared(ctx.params) if p in PAGES else {}))
            for p in NAV_PAGES
            if p in ctx.pages
        ],
        other_url=page_url(page, other, ctx.params) if page in PAGES else _profile_url(other, ctx.params),
        notice=ctx.notice[lang],
        as_of=text[as_of_key].format(date=jalali_date(ctx.as_of, lang)),
        as_of_iso=ctx.as_of.isoformat(),
        as_of_source=text["as_of_" + ctx.as_of_source] + (f"; {text['as_of_fixed_note']}" if fixed else ""),
    )
    figure.html.add_child(branca.element.Element(header + panel), name="am_panel")

    m = LocalMap(
        location=IRAN_CENTRE,
        zoom_start=IRAN_ZOOM,
        min_zoom=4,
        max_zoom=16,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        zoom_control=True,
    )
    figure.add_child(m)
    if ctx.basemap_url:
        folium.TileLayer(
            ctx.basemap_url, attr=ctx.basemap_attribution or " ", name="basemap", control=False
        ).add_to(m)

    elements: dict[str, folium.Element] = {}
    if page in ("national", "licence"):
        grid = LocalVectorGrid(
            "/tiles/settlement-access/{z}/{x}/{y}.mvt",
            name=text["layer_settlements"],
            options=(
                "{rendererFactory: L.canvas.tile, interactive: false, pane: 'amSettlements', "
                "getFeatureId: (f) => f.properties.settlement_code, "
                f"maxNativeZoom: {min(ctx.tile_max_zoom, 14)}, maxZoom: 16, "
                "vectorTileLayerStyles: {'settlement-access': Amayesh.settlementStyle}}"
            ),
        )
        # Panes first, so the grid can draw into its own (above the counties, below the NGOs).
        m.add_child(Panes())
        m.add_child(grid)
        elements["settlements"] = grid
    if page == "national":
        control = folium.LayerControl(collapsed=False, position="topleft" if lang == "fa" else "topright")
        m.add_child(control)
        elements["control"] = control
    config = {
        "page": page,
        "lang": lang,
        "t": text,
        "services": services,
        "provinces": provinces,
        "criteria": list(ctx.criteria),
        "weights": dict(ctx.default_weights),
        "params": dict(ctx.params),
        "attribution": ctx.attribution,
        "notice": ctx.notice[lang],
        "as_of": ctx.as_of.isoformat(),
        "as_of_text": text[as_of_key].format(date=jalali_date(ctx.as_of, lang)),
        "as_of_fixed": fixed,
        "as_of_date": jalali_date(ctx.as_of, lang),
    }
    m.add_child(Start(page, elements, config, extra_js))
    return figure.render()


class Panes(folium.MacroElement):
    """Map panes in drawing order: counties, settlements, target areas, NGOs, results."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        Amayesh.makePanes({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
