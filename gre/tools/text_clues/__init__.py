"""The ``text_clues`` tool: language, script, phones, domains, postcodes, prices -> countries."""

from gre.tools.text_clues.tool import TextCluesInput, TextCluesOutput, TextCluesTool

__all__ = ["TextCluesInput", "TextCluesOutput", "TextCluesTool"]
