"""Text folding shared by matching code: accents, case, punctuation and spacing."""

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
