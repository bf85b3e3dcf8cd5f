"""Exports of one or more runs: GeoJSON (RFC 7946), KML, CSV and a self-contained HTML report.

``write_exports`` writes any of them at once, each atomically; the ``to_*`` functions
return them. Libraries that only some exports need (fastkml, folium) load on first use.
"""

from __future__ import annotations

from gre.export.circles import circle_geometry, circle_ring
from gre.export.common import attributions, status
from gre.export.csv import CSV_COLUMNS, csv_row, to_csv
from gre.export.files import write_json_atomic, write_text_atomic
from gre.export.geojson import to_geojson, trace_features
from gre.export.html import to_html
from gre.export.kml import to_kml
from gre.export.write import write_exports

__all__ = [
    "CSV_COLUMNS",
    "attributions",
    "circle_geometry",
    "circle_ring",
    "csv_row",
    "status",
    "to_csv",
    "to_geojson",
    "to_html",
    "to_kml",
    "trace_features",
    "write_exports",
    "write_json_atomic",
    "write_text_atomic",
]
