"""Reading the reference data: the files in the reference directory and the official division list.

The reference directory (default ``../shared/data/iran``) holds OpenStreetMap boundaries, GeoNames
places and the 1395 census. The official division list ships in the PyPI package
``django-iranian-cities`` as CSV data files; only those files are read, not its Django code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import ReferenceDataError

REFERENCE_FILES = {
    "country": "country_naturalearth.geojson",
    "provinces": "provinces_osm.geojson",
    "counties": "counties_osm.gpkg",
    "places": "places_geonames.gpkg",
    "gazetteer": "places_wof.gpkg",
    "census_age_sex": "census1395_county_age_sex.csv",
    "census_unemployment": "census1395_county_unemployment.csv",
}

HOW_TO_GET = (
    "It is the Iran reference data set (OpenStreetMap boundaries, GeoNames and Who's On First "
    "places, 1395 census; "
    "see README.md, 'Reference data', for the files and their public sources). Point "
    "AMAYESH_DATA_DIR or --data-dir at the folder that holds it."
)


@dataclass(frozen=True)
class Official:
    """The official division list, one frame per level, identifiers as strings."""

    provinces: pd.DataFrame
    counties: pd.DataFrame
    cities: pd.DataFrame
    villages: pd.DataFrame


@dataclass(frozen=True)
class Reference:
    country: gpd.GeoDataFrame
    provinces: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    gazetteer: gpd.GeoDataFrame  # Who's On First localities (from GeoNames), indexed by wof_id
    census_age_sex: pd.DataFrame
    census_unemployment: pd.DataFrame
    official: Official


def check_reference_dir(data_dir: Path) -> dict[str, Path]:
    """Return the paths of the reference files, or raise ``ReferenceDataError`` naming each missing one."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ReferenceDataError(f"Reference data directory {data_dir} does not exist. {HOW_TO_GET}")
    paths = {key: data_dir / name for key, name in REFERENCE_FILES.items()}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise ReferenceDataError(
            f"Reference data directory {data_dir} lacks {', '.join(missing)}. {HOW_TO_GET}"
        )
    return paths


def read_official() -> Official:
    """Read the official division list shipped with ``django-iranian-cities``.

    Codes are returned zero-padded: province 2 digits, county 4, city 10, village 16, rural
    district 10.
    """
    try:
        root = resources.files("iranian_cities") / "data"
    except ModuleNotFoundError as err:  # pragma: no cover - a broken install
        raise ReferenceDataError(
            "The package django-iranian-cities is not installed; run `pip install -e .`"
        ) from err

    def read(name: str) -> pd.DataFrame:
        with (root / name).open("rb") as fh:
            return pd.read_csv(fh, dtype=str, keep_default_na=False)

    provinces = read("province.csv")
    provinces["province_code"] = provinces["code"].str.zfill(2)
    prov_code = provinces.set_index("id")["province_code"]

    counties = read("county.csv")
    counties["county_code"] = counties["code"].str.zfill(4)
    counties["province_code"] = counties["province"].map(prov_code)
    county_code = counties.set_index("id")["county_code"]

    rural = read("rural_district.csv")
    rural_code = rural.set_index("id")["code"].str.zfill(10)

    cities = read("city.csv")
    cities["settlement_code"] = cities["code"].str.zfill(10)
    cities["county_code"] = cities["county"].map(county_code)
    cities["province_code"] = cities["province"].map(prov_code)

    villages = read("village.csv")
    villages["settlement_code"] = villages["code"].str.zfill(16)
    villages["county_code"] = villages["county"].map(county_code)
    villages["province_code"] = villages["province"].map(prov_code)
    villages["rural_district_code"] = villages["rural_district"].map(rural_code)

    return Official(
        provinces=provinces[["id", "name", "province_code"]],
        counties=counties[["id", "name", "county_code", "province_code"]],
        cities=cities[["id", "name", "settlement_code", "county_code", "province_code"]],
        villages=villages[
            ["id", "name", "settlement_code", "county_code", "province_code", "rural_district_code"]
        ],
    )


#: GeoNames places known to be wrong, by geonameid, with the reason (see the reference README).
FAULTY_PLACES = {
    124878: "a bogus second «مراغه» at 35.83 N, 59.63 E (near Mashhad) with the real Maragheh's population",
}


def drop_faulty_places(places: pd.DataFrame, column: str = "geonameid") -> pd.DataFrame:
    """The places without those listed in ``FAULTY_PLACES`` (by their GeoNames id in ``column``)."""
    return places[~places[column].isin(list(FAULTY_PLACES))]


def read_reference(data_dir: Path) -> Reference:
    """Read every reference file from ``data_dir`` (see ``REFERENCE_FILES``)."""
    paths = check_reference_dir(data_dir)
    try:
        counties = gpd.read_file(paths["counties"], layer="counties", engine="pyogrio")
        places = gpd.read_file(paths["places"], layer="places", engine="pyogrio")
        gazetteer = gpd.read_file(paths["gazetteer"], layer="places", engine="pyogrio").set_index("wof_id")
        country = gpd.read_file(paths["country"], engine="pyogrio")
        provinces = gpd.read_file(paths["provinces"], engine="pyogrio")
        census_age_sex = pd.read_csv(
            paths["census_age_sex"], dtype={"county_code": str, "province_code": str}
        )
        census_unemployment = pd.read_csv(
            paths["census_unemployment"], dtype={"county_code": str, "province_code": str}
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as err:
        raise ReferenceDataError(f"Could not read the reference data in {data_dir}: {err}") from err
    provinces = provinces.rename(columns={"name:fa": "name_fa", "name:en": "name_en"})
    return Reference(
        country=country,
        provinces=provinces,
        counties=counties,
        places=drop_faulty_places(places).reset_index(drop=True),
        gazetteer=drop_faulty_places(gazetteer, "geonames_id"),
        census_age_sex=census_age_sex,
        census_unemployment=census_unemployment,
        official=read_official(),
    )
