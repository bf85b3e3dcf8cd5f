"""The ``osm`` (local extract) and ``overpass`` (live) map tools: one structured query model."""

from gre.tools.osm.tool import OsmFeature, OsmInput, OsmLocalTool, OsmOutput, OverpassTool

__all__ = ["OsmFeature", "OsmInput", "OsmLocalTool", "OsmOutput", "OverpassTool"]
