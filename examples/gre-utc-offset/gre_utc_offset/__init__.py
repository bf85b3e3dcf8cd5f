"""An example gre plugin: the time zones, countries and longitudes a UTC offset allows on a date.

It checks rather than proposes: its result contradicts candidate places whose country
used no zone with that offset on that date (or, for a candidate without a country, that
lie far outside the offset's longitude band), and supports the others.
"""

from __future__ import annotations

import math
import re
import sysconfig
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import TZPATH, ZoneInfo, available_timezones

from pydantic import BaseModel, Field, field_validator

from gre.tools import Candidate, Evidence, Tool, ToolError, ToolOutput, quote

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BAND_DEG = 15.0
"""The band an offset implies: offset x 15 degrees, plus or minus this."""
MARGIN_DEG = 15.0
"""How far past the band a candidate without a country may lie (zones follow borders)."""
CONTRADICTION = 0.6
"""How strongly the offset rules out a place it does not fit."""


@cache
def zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country code, from the tz database's ``zone.tab``."""
    dirs = [Path(p) for p in TZPATH]
    try:
        import tzdata

        dirs.append(Path(tzdata.__file__).parent / "zoneinfo")
    except ImportError:
        pass
    dirs.append(Path(sysconfig.get_paths()["data"]) / "share" / "zoneinfo")
    for folder in dirs:
        table = folder / "zone.tab"
        if table.is_file():
            out: dict[str, str] = {}
            for line in table.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#"):
                    parts = line.split("\t")
                    if len(parts) >= 3:
                        out[parts[2]] = parts[0]
            return out
    return {}


class UtcOffsetInput(BaseModel):
    offset: str = Field(description="UTC offset as written in EXIF, e.g. +02:00 or -0530")
    date: str | None = Field(default=None, description="ISO date the photo was taken")

    @field_validator("date")
    @classmethod
    def _valid_date(cls, value: str | None) -> str | None:
        if value is not None:
            date.fromisoformat(value)  # raises ValueError, reported as invalid input
        return value

    @field_validator("offset")
    @classmethod
    def _valid_offset(cls, value: str) -> str:
        match = _OFFSET.match(value.strip())
        if not match or int(match[2]) > 14 or int(match[3]) >= 60:
            raise ValueError("expected an offset like +02:00 between -14:00 and +14:00")
        return value.strip()


class UtcOffsetOutput(ToolOutput):
    offset_hours: float
    zones: list[str]
    countries: list[str] = Field(default_factory=list)
    lon_min: float
    lon_max: float

    def summary(self) -> str:
        return (
            f"UTC{self.offset_hours:+g}: {len(self.zones)} zones in {len(self.countries)} "
            f"countries, longitude about {self.lon_min:.0f}..{self.lon_max:.0f}"
        )

    def for_model(self) -> str:
        shown = ", ".join(self.countries[:40])
        return (
            f"UTC offset {self.offset_hours:+g} h fits {len(self.zones)} time zones in "
            f"countries {quote(shown)}; longitude band about {self.lon_min:.0f} to "
            f"{self.lon_max:.0f} degrees"
        )

    def _fits(self, candidate: Candidate) -> bool:
        if candidate.country_code and self.countries:
            return candidate.country_code in self.countries
        gap = max(0.0, self.lon_min - candidate.lon, candidate.lon - self.lon_max)
        km_per_deg = 111.32 * max(0.05, math.cos(math.radians(candidate.lat)))
        return gap <= MARGIN_DEG + candidate.radius_km / km_per_deg

    def supports(self, candidate: Candidate) -> bool:
        return self._fits(candidate)

    def contradicts(self, candidate: Candidate) -> float:
        return 0.0 if self._fits(candidate) else CONTRADICTION


class UtcOffsetTool(Tool[UtcOffsetInput, UtcOffsetOutput]):
    """Which IANA time zones (and countries) used a UTC offset on a date."""

    name: ClassVar[str] = "utc_offset"
    description: ClassVar[str] = (
        "Given the UTC offset a camera recorded (EXIF OffsetTimeOriginal) and the date, list "
        "the time zones and countries that used it then and the longitude band it implies "
        "(offset x 15 degrees, plus or minus 15); places elsewhere are contradicted."
    )
    input_model: ClassVar[type[BaseModel]] = UtcOffsetInput
    output_model: ClassVar[type[BaseModel]] = UtcOffsetOutput

    @classmethod
    def suggest(cls, evidence: Sequence[Evidence]) -> list[dict[str, Any]]:
        """Check the offset the camera recorded, on the day it recorded it."""
        out: list[dict[str, Any]] = []
        for ev in evidence:
            if ev.tool == "exif" and ev.ok and ev.result.get("utc_offset"):
                taken = str(ev.result.get("taken_at") or "")
                day = taken[:10] if _DAY.match(taken[:10]) else None
                out.append({"offset": str(ev.result["utc_offset"]), "date": day})
        return out

    def run(self, params: UtcOffsetInput) -> UtcOffsetOutput:
        match = _OFFSET.match(params.offset)
        if match is None:  # the input model validated it; this keeps type checkers honest
            raise ToolError(f"not a UTC offset: {params.offset!r}")
        sign = -1 if match[1] == "-" else 1
        delta = timedelta(hours=int(match[2]), minutes=int(match[3])) * sign
        day = date.fromisoformat(params.date) if params.date else date.today()
        noon = datetime(day.year, day.month, day.day, 12)
        zones = sorted(
            z
            for z in available_timezones()
            if "/" in z
            and not z.startswith(("Etc/", "SystemV/"))
            and ZoneInfo(z).utcoffset(noon) == delta
        )
        by_zone = zone_countries()
        countries = sorted({by_zone[z] for z in zones if z in by_zone})
        hours = delta.total_seconds() / 3600
        centre = hours * 15.0
        return UtcOffsetOutput(
            offset_hours=hours,
            zones=zones,
            countries=countries,
            lon_min=max(-180.0, centre - BAND_DEG),
            lon_max=min(180.0, centre + BAND_DEG),
        )
