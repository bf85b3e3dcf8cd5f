"""Text folding shared by matching code (accents, case, punctuation and spacing), and text
made safe to show on a terminal."""

from __future__ import annotations

import re
import unicodedata

_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h"})
_SPACE = re.compile(r"[\s\-‐‑‒–—_/.,;:!?'’\"()\[\]{}]+")


def fold(text: str) -> str:
    """Lower-case, strip diacritics and punctuation, collapse whitespace.

    Non-Latin scripts are kept (only combining marks are removed), so folding
    "Névache" gives "nevache" and "Москва" gives "москва".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", stripped.casefold().translate(_LETTERS)).strip()


# C0 and C1 control characters (ESC starts terminal commands), DEL, and the bidirectional
# overrides that make a file name read differently from what it is.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), tabs and newlines
    kept: a file name or a web page cannot send commands to the terminal."""
    return _UNSAFE.sub(lambda m: ascii(m.group())[1:-1], text)
