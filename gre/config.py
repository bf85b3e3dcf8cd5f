"""One Settings object: defaults < config file < environment (GRE_*) < explicit values."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_config_dir
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gre import __version__
from gre.plugins import declared_names, unknown_name

NOT_SETTINGS = frozenset({"GRE_CONFIG", "GRE_NETWORK_GUARD"})
"""GRE_* variables that are read elsewhere, not settings."""


def default_config_file() -> Path:
    """The config file read when GRE_CONFIG does not name another one."""
    return Path(os.environ.get("GRE_CONFIG") or Path(user_config_dir("gre")) / "config.toml")


def unknown_keys(kind: str, names: list[str], known: list[str]) -> str:
    """One line naming unknown keys, each with its likeliest intended key."""
    by_lower = {k.lower(): k for k in known}
    parts = []
    for name in names:
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
        parts.append(f"{name} (did you mean {by_lower[close[0]]}?)" if close else name)
    return f"unknown {kind}: {', '.join(parts)}"


class _CheckedToml(TomlConfigSettingsSource):
    """The TOML file, refusing a GRE_CONFIG that names no file and keys that are no setting."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        path = default_config_file()
        named = os.environ.get("GRE_CONFIG")
        if named and not Path(named).is_file():
            raise ValueError(f"GRE_CONFIG names {named}, which is not a file")
        super().__init__(settings_cls, toml_file=path)
        unknown = sorted(set(self.toml_data) - set(settings_cls.model_fields))
        if unknown:
            fields = sorted(settings_cls.model_fields)
            raise ValueError(f"{path}: {unknown_keys('setting', unknown, fields)}")


def _check_environment(settings_cls: type[BaseSettings]) -> None:
    """A GRE_* variable that names no setting is a mistake, not something to ignore."""
    known = {f"GRE_{name.upper()}" for name in settings_cls.model_fields} | NOT_SETTINGS
    unknown = sorted(k for k in os.environ if k.startswith("GRE_") and k not in known)
    if unknown:
        raise ValueError(unknown_keys("environment variable", unknown, sorted(known)))


class Settings(BaseSettings):
    """Everything a run can be told; flags override env, env overrides the TOML file."""

    model_config = SettingsConfigDict(env_prefix="GRE_", extra="ignore", validate_default=True)

    backend: str = Field(default="none", description="a gre.backends entry point")
    graph: str = Field(default="staged", description="a gre.graphs entry point")
    model_url: str | None = Field(default=None, description="OpenAI-compatible base URL")
    model: str | None = Field(
        default=None, description="model name served at model_url, or a local path / hub id"
    )
    api_key: SecretStr | None = None
    model_timeout_s: float = Field(default=120.0, gt=0, description="per request")
    model_retries: int = Field(default=3, ge=0, le=10, description="on 429, 5xx, timeouts")
    model_concurrency: int = Field(default=8, ge=1, le=256, description="requests in flight")
    model_max_pixels: int = Field(
        default=1_003_520, ge=3136, description="images are downscaled to this many pixels"
    )
    model_max_tokens: int = Field(default=1024, ge=16, le=32768)
    model_tool_calling: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="openai runtime: request tools as function calls (auto: unless the "
        "server refuses them, then in the JSON answer), or always (on), or never (off)",
    )
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    hf_device: str = Field(default="auto", description="transformers: auto, cpu, cuda, cuda:N")
    hf_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"

    offline: bool = False
    ignore_metadata: bool = False
    corroborate_gps: bool = Field(
        default=False,
        description="with an EXIF GPS fix, still read the photo (OCR, text, map) to check it; "
        "by default the fix answers at once",
    )

    max_steps: int = Field(default=8, ge=3, le=64, description="stage executions per photo")
    max_tool_requests: int = Field(
        default=8, ge=0, le=64, description="tool requests a backend may make per stage visit"
    )
    max_image_pixels: int = Field(default=100_000_000, ge=1)
    max_file_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    tool_timeout_s: float = Field(default=60.0, gt=0)
    network_budget_s: float = Field(
        default=30.0,
        gt=0,
        description="seconds one photo's network tools may spend on the network in all; "
        "once spent, their calls fail at once",
    )

    photo_prior: bool = Field(
        default=True,
        description="weigh countries by where photos are taken (GeoCLIP's gallery), "
        "not by population, when reading where text was photographed",
    )
    ocr_languages: list[str] = Field(default_factory=lambda: ["eng", "fra"])
    disabled_tools: list[str] = Field(default_factory=list)

    osm_extract: Path | None = Field(
        default=None, description="a .osm.pbf extract for the offline `osm` tool"
    )
    overpass_url: str = "https://overpass-api.de/api/interpreter"
    search_provider: str = Field(default="ddgs", description="ddgs, searxng, or a plugin's")
    searxng_url: str | None = None
    search_max_results: int = Field(default=10, ge=1, le=20)
    nominatim_domain: str = "nominatim.openstreetmap.org"
    nominatim_scheme: Literal["http", "https"] = "https"

    cache_dir: Path = Field(default_factory=lambda: Path(user_cache_dir("gre")))
    contact: str | None = Field(default=None, description="e-mail or URL sent to OSM services")

    @field_validator("backend", "graph")
    @classmethod
    def _registered(cls, value: str, info: ValidationInfo) -> str:
        """Backends and graphs are plugins: the name must be declared (nothing is imported)."""
        group = f"gre.{info.field_name}s"
        known = declared_names(group)
        if value not in known:
            raise ValueError(unknown_name(str(info.field_name), value, known))
        return value

    @property
    def user_agent(self) -> str:
        """The User-Agent every network tool sends (OSM etiquette: name the app and a contact)."""
        contact = f"; {self.contact}" if self.contact else ""
        return f"gre-suite/{__version__} (photo geolocation reasoner{contact})"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        _check_environment(settings_cls)
        return init_settings, env_settings, _CheckedToml(settings_cls)
