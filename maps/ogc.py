"""The service's own resources as pages for a person (OGC API – Features, HTML encoding): the
landing page, the collections, one collection, the conformance classes and a collection's
queryables.

Each page is drawn from the JSON answer of the same resource (the caller's view of it), so it
says no more than that answer; the words come from ``maps.i18n``. Persian first (right to left,
Persian digits, Jalali dates), English with ``lang=en``. Links between the pages keep ``f=html``
and the language, and every page links its JSON alternate. Codes, ids, property names and
addresses are written in ``<code>``: they are what a person types, in any language.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from exchange.templates import LABELS
from geo.decisions import _FA_DIGITS, fa_number
from geo.schema import DEFAULT_SERVICE_TYPES
from maps.i18n import PROPERTY_LABELS, jalali_date, strings
from maps.notices import ATTRIBUTION, ATTRIBUTION_FA, SYNTHETIC_NOTICE_EN, SYNTHETIC_NOTICE_FA
from maps.pages import PAGES, _templates

#: A property's enumerated values are labelled by these prefixes of ``maps.i18n.strings``.
_VALUE_LABELS = {"service_type": "service", "status": "status", "kind": "kind", "class": "class"}
#: The column a collection's filter parameter compares.
_FILTER_COLUMNS = {"province": "province_code", "county": "county_code"}


@dataclass(frozen=True)
class PageContext:
    """Who reads the page, in which language, and what the header says."""

    lang: str
    #: the resource's path (``/collections/ngos``): the JSON alternate and the language switch
    path: str
    as_of: dt.date | None = None
    as_of_source: str = "today"
    #: the catalogue's services (``Norms.service_types``): names of per-service properties
    services: Mapping[str, tuple[str, str]] = field(default_factory=lambda: dict(DEFAULT_SERVICE_TYPES))
    #: the pages of the top bar the caller may open (``api.security.pages_for``): the top bar links
    #: the map pages among them (``maps.pages.PAGES``)
    pages: Sequence[str] = ()
    signed_in: bool = True
    #: the collections that have a page (``/collections/{id}``)
    collections: Sequence[str] = field(default_factory=tuple)
    #: the request's other query parameters (an items page's filters), kept by the JSON
    #: alternate, the language switch and the next and previous pages
    query: Mapping[str, str] = field(default_factory=dict)


def html_url(path: str, lang: str, query: Mapping[str, str] | None = None) -> str:
    """The HTML page of ``path`` in ``lang`` (Persian needs no ``lang``)."""
    params = {**(query or {}), "f": "html"} | ({"lang": lang} if lang != "fa" else {})
    return f"{path}?{urlencode(params)}"


def json_url(path: str, query: Mapping[str, str] | None = None) -> str:
    return f"{path}?{urlencode({**(query or {}), 'f': 'json'})}"


def number(value: float, lang: str, digits: int = 0) -> str:
    return fa_number(value, digits) if lang == "fa" else f"{value:,.{digits}f}"


def property_label(
    name: str, lang: str, services: Mapping[str, tuple[str, str]] = DEFAULT_SERVICE_TYPES
) -> str:
    """What a property means, in ``lang`` (empty when no label says it); a property of one
    service (``{service}_access_share``) is named with the catalogue's ``services``."""
    i = 0 if lang == "fa" else 1
    if name in PROPERTY_LABELS:
        return PROPERTY_LABELS[name][i]
    if name in LABELS:
        return LABELS[name][i]
    for service, labels in services.items():
        if name.startswith(service + "_"):
            pattern = "{service}_" + name[len(service) + 1 :]
            if pattern in PROPERTY_LABELS:
                return PROPERTY_LABELS[pattern][i].format(service=labels[i])
    return ""


def _code(text: object) -> Markup:
    return Markup('<code dir="ltr">{}</code>').format(text)


def _with_codes(sentence: str, **codes: str) -> Markup:
    """A catalogue sentence whose ``{name}`` places hold codes."""
    return escape(sentence).format(**{k: _code(v) for k, v in codes.items()})


#: A run of Latin names in a Persian sentence: words, "/" between them, a bracketed licence.
_LATIN_RUN = re.compile(r"[A-Za-z][\w'\-]*(?:(?:\s+|\s*/\s*)(?:[A-Za-z0-9][\w'\-]*|\([^)]*\)))*")


def isolated_latin(sentence: str) -> Markup:
    """``sentence`` with each run of Latin names isolated, left to right (``<bdi>``): a name with
    a bracketed licence keeps its brackets in place inside a right-to-left line."""
    out = Markup()
    at = 0
    for found in _LATIN_RUN.finditer(sentence):
        out += escape(sentence[at : found.start()])
        out += Markup('<bdi dir="ltr" lang="en">{}</bdi>').format(found.group())
        at = found.end()
    return out + escape(sentence[at:])


def _nav(t: Mapping[str, str], ctx: PageContext) -> list[tuple[str, str, str]]:
    if not ctx.signed_in:
        target = quote(html_url(ctx.path, ctx.lang), safe="")
        return [
            ("ogc_conformance", html_url("/conformance", ctx.lang), t["page_ogc_conformance"]),
            ("sign_in", f"/sign-in?lang={ctx.lang}&next={target}", t["ogc_sign_in"]),
        ]
    out = [
        ("ogc_landing", html_url("/", ctx.lang), t["page_ogc_landing"]),
        ("ogc_collections", html_url("/collections", ctx.lang), t["page_ogc_collections"]),
        ("ogc_conformance", html_url("/conformance", ctx.lang), t["page_ogc_conformance"]),
    ]
    out += [(p, f"/maps/{p}?lang={ctx.lang}", t["page_" + p]) for p in PAGES if p in ctx.pages]
    return out


def _render(template: str, page: str, title: str, ctx: PageContext, synthetic: bool, **values) -> str:
    t = strings(ctx.lang, ctx.services)
    other = "en" if ctx.lang == "fa" else "fa"
    as_of = "" if ctx.as_of is None else t["as_of"].format(date=jalali_date(ctx.as_of, ctx.lang))
    return _templates.get_template(template).render(
        page=page,
        lang=ctx.lang,
        dir="rtl" if ctx.lang == "fa" else "ltr",
        t=t,
        title=f"{title} · {t['app']}",
        heading=title,
        nav=_nav(t, ctx),
        synthetic=synthetic,
        notice=SYNTHETIC_NOTICE_FA if ctx.lang == "fa" else SYNTHETIC_NOTICE_EN,
        as_of=as_of,
        other_url=html_url(ctx.path, other, ctx.query),
        attribution=isolated_latin(ATTRIBUTION_FA) if ctx.lang == "fa" else ATTRIBUTION,
        json_href=json_url(ctx.path, ctx.query),
        code=_code,
        html_url=lambda path: html_url(path, ctx.lang),
        n=lambda value, digits=0: number(value, ctx.lang, digits),
        **values,
    )


def _synthetic_label(t: Mapping[str, str], value: str | None) -> str:
    return t.get(f"ogc_synthetic_{value}", "—") if value else "—"


def landing_page(doc: Mapping, ctx: PageContext) -> str:
    """``GET /`` for a person: what the service holds, and where to go from here."""
    t = strings(ctx.lang, ctx.services)
    i = 0 if ctx.lang == "fa" else 1
    layers = [
        {
            "id": layer["name"],
            "title": (layer["title_fa"], layer["title_en"])[i] or layer["title_fa"],
            "count": number(layer["count"], ctx.lang),
            "synthetic": _synthetic_label(t, layer.get("synthetic")),
            "href": html_url(f"/collections/{layer['name']}", ctx.lang)
            if layer["name"] in ctx.collections
            else None,
        }
        for layer in doc["layers"]
    ]
    synthetic = any(layer.get("synthetic") not in (None, "none") for layer in doc["layers"])
    return _render(
        "ogc_landing.html",
        "ogc_landing",
        t["page_ogc_landing"],
        ctx,
        synthetic,
        layers=layers,
        map_pages=PAGES,
    )


def _collection_row(c: Mapping, descriptions: Mapping[str, str], ctx: PageContext) -> dict:
    t = strings(ctx.lang, ctx.services)
    base = f"/collections/{c['id']}"
    return {
        "id": c["id"],
        "title": c["title_fa"] if ctx.lang == "fa" else c["title"],
        "description": descriptions.get(c["id"], ""),
        "synthetic": _synthetic_label(t, c.get("synthetic")),
        "href": html_url(base, ctx.lang),
        "items_href": html_url(base + "/items", ctx.lang),
        "queryables_href": html_url(base + "/queryables", ctx.lang),
    }


def collections_page(doc: Mapping, descriptions: Mapping[str, str], ctx: PageContext) -> str:
    """``GET /collections`` for a person: the collections the caller may read."""
    t = strings(ctx.lang, ctx.services)
    rows = [_collection_row(c, descriptions, ctx) for c in doc["collections"]]
    synthetic = any(c.get("synthetic") != "none" for c in doc["collections"])
    return _render(
        "ogc_collections.html",
        "ogc_collections",
        t["page_ogc_collections"],
        ctx,
        synthetic,
        collections=rows,
        crs=doc.get("crs", []),
    )


def _iso_day(value: str | None, lang: str) -> str:
    if not value:
        return "…"
    return jalali_date(dt.date.fromisoformat(value[:10]), lang)


def collection_page(doc: Mapping, description: str, ctx: PageContext) -> str:
    """``GET /collections/{id}`` for a person: what the collection holds and where its features are."""
    t = strings(ctx.lang, ctx.services)
    row = _collection_row(doc, {doc["id"]: description}, ctx)
    extent = None
    spatial = doc.get("extent", {}).get("spatial")
    if spatial:
        west, south, east, north = spatial["bbox"][0]
        extent = t["ogc_extent_value"].format(
            west=number(west, ctx.lang, 2),
            east=number(east, ctx.lang, 2),
            south=number(south, ctx.lang, 2),
            north=number(north, ctx.lang, 2),
        )
    period = None
    temporal = doc.get("extent", {}).get("temporal")
    if temporal:
        start, end = temporal["interval"][0]
        period = t["ogc_period_value"].format(start=_iso_day(start, ctx.lang), end=_iso_day(end, ctx.lang))
    filters = [
        {"name": name, "label": property_label(_FILTER_COLUMNS.get(name, name), ctx.lang, ctx.services)}
        for name in doc.get("filters", {})
    ]
    tiles = next((link["href"] for link in doc["links"] if link["rel"].endswith("/tilesets-vector")), None)
    return _render(
        "ogc_collection.html",
        "ogc_collection",
        row["title"],
        ctx,
        doc.get("synthetic") != "none",
        c=row,
        extent=extent,
        period=period,
        filters=filters,
        crs=doc.get("crs", []),
        storage_crs=doc.get("storageCrs"),
        items_json=f"/collections/{doc['id']}/items?f=json",
        tiles=None if tiles is None else f"/collections/{doc['id']}/tiles",
    )


def conformance_page(doc: Mapping, ctx: PageContext) -> str:
    """``GET /conformance`` for a person: the conformance classes, each by its URI."""
    t = strings(ctx.lang, ctx.services)
    return _render(
        "ogc_conformance.html",
        "ogc_conformance",
        t["page_ogc_conformance"],
        ctx,
        False,
        classes=list(doc["conformsTo"]),
    )


def queryables_page(schema: Mapping, collection: Mapping, ctx: PageContext) -> str:
    """``GET /collections/{id}/queryables`` for a person: the properties a filter may use.

    ``collection`` holds the collection's ``id``, ``title_fa``, ``title_en`` and ``synthetic``.
    """
    t = strings(ctx.lang, ctx.services)
    rows = []
    for name, prop in schema["properties"].items():
        fmt = prop.get("format", "")
        if fmt.startswith("geometry"):
            kind = t["ogc_type_geometry"]
        elif fmt == "date":
            kind = t["ogc_type_date"]
        else:
            kind = t.get(f"ogc_type_{prop.get('type')}", "")
        prefix = _VALUE_LABELS.get(name)
        values = [
            {"code": v, "label": t.get(f"{prefix}_{v}", "") if prefix else ""} for v in prop.get("enum", [])
        ]
        rows.append(
            {
                "name": name,
                "label": property_label(name, ctx.lang, ctx.services)
                or ("" if ctx.lang == "fa" else prop.get("description", "")),
                "type": kind,
                "format": fmt if fmt.startswith("geometry") else "",
                "choices": values,
            }
        )
    title = collection["title_fa"] if ctx.lang == "fa" else collection["title_en"]
    return _render(
        "ogc_queryables.html",
        "ogc_queryables",
        t["ogc_queryables_of"].format(title=title),
        ctx,
        collection.get("synthetic") != "none",
        properties=rows,
        lead=_with_codes(t["ogc_queryables_lead"], filter="filter", cql2="CQL2"),
        collection_href=html_url(f"/collections/{collection['id']}", ctx.lang),
        collection_id=collection["id"],
    )


def cell(value: object, name: str, lang: str) -> Markup | str:
    """A feature's property as a person reads it: labels for codes that have one, numbers and
    digit codes in the page's digits, dates in the Jalali calendar, other Latin text as code."""
    import pandas as pd

    t = strings(lang)
    if value is None or (not isinstance(value, str | bool) and pd.isna(value)):
        return "—"
    if isinstance(value, bool):
        return t["yes"] if value else t["no"]
    prefix = _VALUE_LABELS.get(name)
    if prefix and f"{prefix}_{value}" in t:
        return t[f"{prefix}_{value}"]
    if isinstance(value, int | float):
        whole = float(value).is_integer()
        return number(value, lang, 0 if whole else 2)
    if isinstance(value, dt.date | pd.Timestamp):
        return jalali_date(pd.Timestamp(value).date(), lang)
    text = str(value)
    if re.search("[A-Za-z]", text):
        return _code(text)
    return text.translate(_FA_DIGITS) if lang == "fa" and text.isdigit() else text


def items_page(
    rows: Sequence[Mapping],
    columns: Sequence[str],
    collection: Mapping,
    matched: int,
    offset: int,
    limit: int,
    ctx: PageContext,
) -> str:
    """``GET /collections/{id}/items`` (or one item) for a person: a page of features as a table,
    with the previous and next pages. ``collection`` holds ``id``, ``key``, ``title_fa``,
    ``title_en`` and ``synthetic``."""
    t = strings(ctx.lang, ctx.services)
    base = f"/collections/{collection['id']}"
    key = collection["key"]
    table = [
        {
            "id": str(row[key]),
            "href": html_url(f"{base}/items/{quote(str(row[key]), safe='')}", ctx.lang),
            "cells": [cell(row.get(name), name, ctx.lang) for name in columns],
        }
        for row in rows
    ]
    heads = [{"name": name, "label": property_label(name, ctx.lang, ctx.services)} for name in columns]
    keep = {k: v for k, v in ctx.query.items() if k not in ("offset", "limit")}
    prev_href = next_href = None
    if offset > 0:
        prev_href = html_url(
            ctx.path, ctx.lang, keep | {"offset": str(max(offset - limit, 0)), "limit": str(limit)}
        )
    if offset + limit < matched:
        next_href = html_url(ctx.path, ctx.lang, keep | {"offset": str(offset + limit), "limit": str(limit)})
    shown = t["ogc_shown"].format(
        matched=number(matched, ctx.lang),
        first=number(offset + 1 if rows else 0, ctx.lang),
        last=number(offset + len(rows), ctx.lang),
    )
    title = collection["title_fa"] if ctx.lang == "fa" else collection["title_en"]
    return _render(
        "ogc_items.html",
        "ogc_items",
        title,
        ctx,
        collection.get("synthetic") != "none",
        heads=heads,
        rows=table,
        shown=shown,
        prev_href=prev_href,
        next_href=next_href,
        collection_href=html_url(base, ctx.lang),
        key=key,
    )
