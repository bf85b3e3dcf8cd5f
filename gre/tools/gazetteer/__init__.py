"""The ``gazetteer`` tool: offline place names (GeoNames), scan, lookup, reverse, countries."""

from gre.tools.gazetteer.index import (
    ATTRIBUTION,
    build_index,
    ensure_index,
    index_is_current,
    index_path,
)
from gre.tools.gazetteer.places import PLACE_KINDS, CountryInfo, Mention, Place, PlaceKind
from gre.tools.gazetteer.query import Gazetteer
from gre.tools.gazetteer.tool import GazetteerInput, GazetteerOutput, GazetteerTool

__all__ = [
    "ATTRIBUTION",
    "PLACE_KINDS",
    "CountryInfo",
    "Gazetteer",
    "GazetteerInput",
    "GazetteerOutput",
    "GazetteerTool",
    "Mention",
    "Place",
    "PlaceKind",
    "build_index",
    "ensure_index",
    "index_is_current",
    "index_path",
]
