"""The HTTP service. ``create_app()`` builds it; routes are thin and call ``store`` and ``geo``."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from api import errors
from api.settings import Settings, get_settings
from demo.build import ATTRIBUTION
from geo.schema import LAYERS
from store import Store, open_store

SYNTHETIC_NOTICE_FA = "داده‌های سازمان‌های مردم‌نهاد، محله‌های هدف و جمعیت هدف در این نسخهٔ نمایشی ساختگی‌اند."
SYNTHETIC_NOTICE_EN = (
    "Demo: the NGO registry, target neighbourhoods and target populations are synthetic, not real."
)


@lru_cache
def _store_for(url: str) -> Store:
    return open_store(url)


def get_store(request: Request) -> Store:
    return _store_for(request.app.state.settings.store)


class LayerSummary(BaseModel):
    name: str
    title_fa: str
    title_en: str
    count: int
    synthetic: str | None = None
    source: str | None = None


class ServiceSummary(BaseModel):
    service: str
    layers: list[LayerSummary]
    attribution: str
    notice_fa: str
    notice_en: str


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; ``settings`` default to the environment (``AMAYESH_*``)."""
    app = FastAPI(
        title="Amayesh",
        summary="Spatial planning of welfare NGO licensing (Behzisti)",
        version="0.1.0",
        license_info={"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
    )
    app.state.settings = settings or get_settings()
    errors.install(app)

    @app.get("/", response_model=ServiceSummary, summary="The layers in the store and their counts")
    def landing(store: Annotated[Store, Depends(get_store)]) -> ServiceSummary:
        present = store.list_layers()
        info = {}
        if "layer_info" in present:
            frame = store.read_layer("layer_info")
            info = frame.set_index("layer").to_dict("index")
        layers = [
            LayerSummary(
                name=name,
                title_fa=LAYERS[name].title_fa,
                title_en=LAYERS[name].title_en,
                count=store.count(name),
                synthetic=info.get(name, {}).get("synthetic"),
                source=info.get(name, {}).get("source"),
            )
            for name in present
            if name != "layer_info"
        ]
        return ServiceSummary(
            service="Amayesh",
            layers=layers,
            attribution=ATTRIBUTION,
            notice_fa=SYNTHETIC_NOTICE_FA,
            notice_en=SYNTHETIC_NOTICE_EN,
        )

    return app
