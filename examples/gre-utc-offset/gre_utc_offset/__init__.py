"""An example gre plugin: the time zones and longitude band a UTC offset allows on a date."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, Field, field_validator

from gre.tools import Tool, ToolError, ToolOutput

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


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
    lon_min: float
    lon_max: float

    def summary(self) -> str:
        return (
            f"UTC{self.offset_hours:+g}: {len(self.zones)} zones, "
            f"longitude about {self.lon_min:.0f}..{self.lon_max:.0f}"
        )


class UtcOffsetTool(Tool[UtcOffsetInput, UtcOffsetOutput]):
    """Which IANA time zones used a UTC offset on a date."""

    name: ClassVar[str] = "utc_offset"
    description: ClassVar[str] = (
        "Given the UTC offset a camera recorded (and the date), list the time zones that used it "
        "then and the longitude band it implies (offset x 15 degrees, plus or minus 15)."
    )
    input_model: ClassVar[type[BaseModel]] = UtcOffsetInput
    output_model: ClassVar[type[BaseModel]] = UtcOffsetOutput

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
        hours = delta.total_seconds() / 3600
        centre = hours * 15.0
        return UtcOffsetOutput(
            offset_hours=hours,
            zones=zones,
            lon_min=max(-180.0, centre - 15.0),
            lon_max=min(180.0, centre + 15.0),
        )
