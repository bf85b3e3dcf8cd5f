"""Text folding shared by matching code: accents, case, punctuation and spacing."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"[\s\-‐‑‒–—_/.,;:!?'’\"()\[\]{}]+")


def fold(text: str) -> str:
    """Lower-case, strip diacritics and punctuation, collapse whitespace.

    Non-Latin scripts are kept (only combining marks are removed), so folding
    "Névache" gives "nevache" and "Москва" gives "москва".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("ß", "ss").replace("ø", "o").replace("Ø", "o").replace("ł", "l")
    stripped = stripped.replace("Ł", "l").replace("đ", "d").replace("Đ", "d").replace("æ", "ae")
    return _SPACE.sub(" ", stripped.casefold()).strip()
