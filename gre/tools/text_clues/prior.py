"""A prior of where photos are taken: photos per country in GeoCLIP's GPS gallery.

Without one, speaker counts decide where a language is read: French text gives the
Democratic Republic of the Congo two thirds of France's weight, English text gives India
more than Britain. Photos are not taken where people are but where people photograph:
GeoCLIP's gallery of 100,000 MP-16 Flickr photo locations (MIT licence; counted per
country by ``scripts/build_photo_prior.py``) stands for that. Counts are tempered
(:data:`POWER`) because Flickr over-represents North America and Western Europe, and
smoothed so that no country is impossible. ``Settings.photo_prior = False`` (env
``GRE_PHOTO_PRIOR=0``) weighs countries by population instead.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

POWER = 0.5
"""Photos per country are raised to this power: the gallery's bias, halved in log scale."""
PSEUDO_PHOTOS = 1.0
"""Added to every country's count (a country without a gallery photo is not impossible)."""


@cache
def photo_weights() -> dict[str, float]:
    """Each country's prior weight (ISO alpha-2 -> tempered, smoothed photo count)."""
    text = resources.files("gre.tools.text_clues").joinpath("data/photo_prior.json").read_text()
    photos: dict[str, int] = json.loads(text)["photos"]
    return {code: (count + PSEUDO_PHOTOS) ** POWER for code, count in photos.items()}


def weight(code: str, population: float, *, prior: bool) -> float:
    """How many of a country's people count when asking where text was photographed."""
    if not prior:
        return population
    return photo_weights().get(code, PSEUDO_PHOTOS**POWER) if population > 0 else 0.0
