"""The ``gazetteer`` tool: offline place names (GeoNames), scan, lookup, reverse, countries."""

from gre.tools.gazetteer.tool import GazetteerInput, GazetteerOutput, GazetteerTool, Place

__all__ = ["GazetteerInput", "GazetteerOutput", "GazetteerTool", "Place"]
