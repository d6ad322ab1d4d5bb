"""Table downloads over HTTP: the bytes of ``services/tables.py`` as an attachment."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from fastapi.responses import Response

from services.tables import MEDIA, table_bytes


def table_download(frame: pd.DataFrame, name: str, fmt: str, about: Sequence[tuple[str, str]]) -> Response:
    """``frame`` as an XLSX (with a sheet "about") or a CSV (with ``#`` lines first)."""
    return attachment(table_bytes(frame, name, fmt, about), name, fmt)


def attachment(body: bytes, name: str, fmt: str) -> Response:
    """A table's bytes as the attachment ``name.fmt``."""
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    return Response(body, media_type=MEDIA[fmt], headers=headers)
