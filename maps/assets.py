"""Where the map pages' assets live on disk and the URLs the service serves them under.

``maps/static`` (our script and style sheet) is served under ``APP_URL``; the front-end npm
packages that ``make install`` puts in ``maps/web/node_modules`` (Leaflet, Leaflet.VectorGrid,
supercluster, the Vazirmatn font) under ``VENDOR_URL``: no page loads anything from a CDN.
"""

from __future__ import annotations

from pathlib import Path

MAPS = Path(__file__).resolve().parent
STATIC = MAPS / "static"
NODE_MODULES = MAPS / "web" / "node_modules"
APP_URL = "/static/app"
VENDOR_URL = "/static/vendor"
#: URL folder under ``VENDOR_URL`` -> folder of an installed npm package.
VENDOR = {
    "leaflet": NODE_MODULES / "leaflet" / "dist",
    "vectorgrid": NODE_MODULES / "leaflet.vectorgrid" / "dist",
    "supercluster": NODE_MODULES / "supercluster" / "dist",
    "vazirmatn": NODE_MODULES / "@fontsource" / "vazirmatn",
}


def missing_assets() -> list[str]:
    """The vendor packages that are not installed (``make install`` installs them)."""
    return [name for name, folder in VENDOR.items() if not folder.is_dir()]
