"""The ``search`` tool: web search behind a provider interface (ddgs, SearXNG, plugins)."""

from gre.tools.search.tool import SearchInput, SearchOutput, SearchTool

__all__ = ["SearchInput", "SearchOutput", "SearchTool"]
