"""Geofencing maths: WKT shapes (longitude first), point-in-polygon, great-circle distance.

Rule literals (a POLYGON for GEO_WITHIN, a POINT for the distance operators) are parsed with shapely, which
is imported inside the functions so a handler that never meets a geofence never pays for it. Parsed shapes
are cached by their text. Positions sent by devices (`DATA._LON_LAT`, "POINT(lon lat)") are read with
`parse_point`, a strict parser without shapely, because it runs for every telemetry message.

Coordinates are plain longitude/latitude degrees: polygons are planar in those coordinates (no
antimeridian wrapping), distances are haversine kilometres on a sphere of radius `EARTH_RADIUS_KM`.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry
    from shapely.geometry.polygon import Polygon

__all__ = [
    "EARTH_RADIUS_KM",
    "GeoError",
    "Position",
    "covers",
    "haversine_km",
    "parse_point",
    "parse_point_wkt",
    "parse_polygon",
    "parse_wkt",
    "position_of",
]

EARTH_RADIUS_KM = 6371.0088  # the IUGG mean Earth radius
MAX_WKT_LENGTH = 65_536

Position = tuple[float, float]
"""(longitude, latitude) in degrees."""

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_POINT = re.compile(rf"\s*POINT\s*\(\s*({_NUMBER})\s+({_NUMBER})\s*\)\s*", re.IGNORECASE)


class GeoError(ValueError):
    """A WKT text that is not the expected shape; the message says why."""


def _checked(lon: float, lat: float) -> Position:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeoError("coordinates must be finite numbers")
    if not -180.0 <= lon <= 180.0:
        raise GeoError(f"longitude {lon} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise GeoError(f"latitude {lat} is outside [-90, 90]")
    return lon, lat


@lru_cache(maxsize=4096)
def parse_point(text: str) -> Position:
    """`POINT(lon lat)` (any case, free spacing) as (lon, lat); GeoError unless lon is in [-180, 180] and
    lat in [-90, 90]. No shapely: this reads device positions on the telemetry path."""
    match = _POINT.fullmatch(text) if len(text) <= 256 else None
    if match is None:
        raise GeoError("must be a WKT point such as POINT(2.3522 48.8566) (longitude first)")
    return _checked(float(match.group(1)), float(match.group(2)))


def position_of(value: object) -> Position | None:
    """The position a `DATA._LON_LAT` value holds; None when it holds none (not a string, not a valid POINT)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_point(value)
    except GeoError:
        return None


@lru_cache(maxsize=512)
def parse_wkt(text: str) -> BaseGeometry:
    """Any WKT geometry, through shapely; GeoError when it does not parse."""
    import shapely

    if len(text) > MAX_WKT_LENGTH:
        raise GeoError(f"WKT longer than {MAX_WKT_LENGTH} characters")
    try:
        geometry = shapely.from_wkt(text)
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise GeoError(f"not valid WKT: {exc}") from None
    if geometry is None:
        raise GeoError("not valid WKT")
    return geometry


def _check_extent(geometry: BaseGeometry) -> None:
    import shapely

    if geometry.is_empty:
        raise GeoError(f"{geometry.geom_type.upper()} EMPTY has no coordinates")
    if geometry.has_z:
        raise GeoError("coordinates must be two-dimensional (longitude latitude)")
    for lon, lat in shapely.get_coordinates(geometry).tolist():
        _checked(lon, lat)


@lru_cache(maxsize=512)
def parse_polygon(text: str) -> Polygon:
    """A WKT POLYGON (closed rings, valid: no self-intersection), ready for fast point tests."""
    import shapely

    geometry = parse_wkt(text)
    if geometry.geom_type != "Polygon":
        raise GeoError(f"must be a POLYGON, not a {geometry.geom_type.upper()}")
    _check_extent(geometry)
    if not geometry.is_valid:
        raise GeoError(f"invalid polygon: {shapely.is_valid_reason(geometry)}")
    shapely.prepare(geometry)  # builds the spatial index once; the cached polygon keeps it
    return geometry


def parse_point_wkt(text: str) -> Position:
    """A WKT POINT given in a rule, as (lon, lat), checked by shapely like every rule literal."""
    geometry = parse_wkt(text)
    if geometry.geom_type != "Point":
        raise GeoError(f"must be a POINT, not a {geometry.geom_type.upper()}")
    _check_extent(geometry)
    return float(geometry.x), float(geometry.y)


def covers(polygon: Polygon, position: Position) -> bool:
    """Whether the position is inside the polygon or on its boundary (a point on the fence counts as within)."""
    import shapely

    return bool(shapely.intersects_xy(polygon, position[0], position[1]))


def haversine_km(a: Position, b: Position) -> float:
    """Great-circle distance in km between two (lon, lat) positions."""
    lon1, lat1 = math.radians(a[0]), math.radians(a[1])
    lon2, lat2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
