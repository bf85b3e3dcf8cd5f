"""``landmark_test``: a tool that knows a few landmarks and claims where they stand.

One file and one entry point, written only against ``gre.tools``: what any tool author
writes. Its result renders itself for the model and claims a place, so a run that asks
for it can be moved by it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from gre.tools import PlaceClaim, Tool, ToolError, ToolOutput, quote

LANDMARKS = {
    "tour eiffel": ("Tour Eiffel, Paris", 48.8584, 2.2945, "FR"),
    "sagrada familia": ("Sagrada Família, Barcelona", 41.4036, 2.1744, "ES"),
}
MARKER = "landmark_test knows it"


class LandmarkInput(BaseModel):
    name: str = Field(min_length=2, max_length=100, description="the landmark's name")


class LandmarkOutput(ToolOutput):
    name: str
    label: str
    lat: float
    lon: float
    country: str

    def summary(self) -> str:
        return f"{self.label} at {self.lat:.4f}, {self.lon:.4f}"

    def for_model(self) -> str:
        return f"{MARKER}: {quote(self.name)} is {quote(self.label)} at {self.lat}, {self.lon}"

    def claims(self) -> list[PlaceClaim]:
        return [
            PlaceClaim(
                lat=self.lat,
                lon=self.lon,
                radius_km=0.3,
                level="street",
                label=self.label,
                weight=0.9,
                country=self.country,
                ref=f"landmark:{self.name}",
                why=f"{self.name!r} is a landmark the tool knows",
            )
        ]


class LandmarkTool(Tool[LandmarkInput, LandmarkOutput]):
    """Where a famous landmark stands."""

    name: ClassVar[str] = "landmark_test"
    description: ClassVar[str] = (
        "Given the name of a famous landmark seen in the photo, say where it stands."
    )
    input_model: ClassVar[type[BaseModel]] = LandmarkInput
    output_model: ClassVar[type[BaseModel]] = LandmarkOutput

    def run(self, params: LandmarkInput) -> LandmarkOutput:
        known = LANDMARKS.get(params.name.strip().casefold())
        if known is None:
            raise ToolError(f"unknown landmark {params.name!r}")
        label, lat, lon, country = known
        return LandmarkOutput(name=params.name, label=label, lat=lat, lon=lon, country=country)
