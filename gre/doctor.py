"""`gre doctor`: what this machine can run (backends, OCR, data, network), with fixes."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import sys
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import BaseModel

from gre import __version__
from gre.config import Settings

NETWORK_HOSTS = (
    ("overpass-api.de", 443),
    ("nominatim.openstreetmap.org", 443),
    ("duckduckgo.com", 443),
)
NETWORK_PROBE_S = 3.0
"""The network probes' time in all (they run at once)."""
MODEL_PROBE_S = 3.0
"""The model server's check: its model list within this many seconds, no retry."""


class Check(BaseModel):
    """One line of the report."""

    area: str
    name: str
    ok: bool
    detail: str
    hint: str = ""
    required: bool = False


def _version_of(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def check_openai(settings: Settings) -> Check:
    """Is the configured OpenAI-compatible server reachable, and which models does it serve?"""
    required = settings.backend == "openai"
    if not settings.model_url:
        return Check(
            area="backend",
            name="openai",
            ok=False,
            required=required,
            detail="no server configured",
            hint="vllm serve <model> … then GRE_MODEL_URL=http://127.0.0.1:8000/v1",
        )
    from gre.agent.vlm.chat import ChatError
    from gre.agent.vlm.openai_http import OpenAIChat

    probe = {"model_timeout_s": MODEL_PROBE_S, "model_retries": 0}
    chat = OpenAIChat(settings.model_copy(update=probe))
    try:
        served = chat.models()
    except ChatError as exc:
        return Check(
            area="backend",
            name="openai",
            ok=False,
            required=required,
            detail=str(exc),
            hint="start the server, or check GRE_MODEL_URL",
        )
    finally:
        chat.close()
    detail = f"{chat.url} serves {', '.join(served) or 'no model'}"
    if settings.model and settings.model not in served:
        return Check(
            area="backend",
            name="openai",
            ok=False,
            required=required,
            detail=detail,
            hint=f"GRE_MODEL={settings.model!r} is not served there",
        )
    return Check(area="backend", name="openai", ok=bool(served), required=required, detail=detail)


def check_transformers(settings: Settings, *, probe_cuda: bool = True) -> list[Check]:
    """transformers and torch importable (without importing them unless asked), and CUDA."""
    required = settings.backend == "transformers"
    torch_v, tf_v = _version_of("torch"), _version_of("transformers")
    if not (torch_v and tf_v):
        missing = " and ".join(n for n, v in (("torch", torch_v), ("transformers", tf_v)) if not v)
        return [
            Check(
                area="backend",
                name="transformers",
                ok=False,
                required=required,
                detail=f"{missing} not installed",
                hint="pip install 'gre-suite[hf]'",
            )
        ]
    checks = [
        Check(
            area="backend",
            name="transformers",
            ok=True,
            required=required,
            detail=f"transformers {tf_v}, torch {torch_v}",
        )
    ]
    if importlib.util.find_spec("torchvision") is not None:
        checks.append(
            Check(
                area="backend",
                name="torchvision",
                ok=True,
                detail="installed (not needed; a CUDA build can break Qwen-VL imports)",
            )
        )
    if probe_cuda:
        import torch

        if torch.cuda.is_available():
            names = ", ".join(
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            )
            checks.append(Check(area="backend", name="cuda", ok=True, detail=names))
        else:
            checks.append(
                Check(
                    area="backend",
                    name="cuda",
                    ok=False,
                    detail="no CUDA device: the transformers backend runs on CPU (slow)",
                )
            )
    return checks


def check_vllm(settings: Settings) -> Check:
    v = _version_of("vllm")
    return Check(
        area="backend",
        name="vllm",
        ok=v is not None,
        required=settings.backend == "vllm",
        detail=f"vllm {v}" if v else "not installed",
        hint="" if v else "optional: pip install 'gre-suite[vllm]' on a GPU machine",
    )


def check_scene_ocr() -> Check:
    """RapidOCR, the default engine: its models ship in its wheel."""
    from gre.tools.ocr.scene import available, engine_name

    if not available():
        return Check(
            area="tools",
            name="scene OCR",
            ok=False,
            required=True,
            detail="RapidOCR or onnxruntime missing: photos are read by tesseract alone",
            hint="pip install rapidocr onnxruntime (both are dependencies of gre-suite)",
        )
    runtime = _version_of("onnxruntime") or "?"
    return Check(
        area="tools",
        name="scene OCR",
        ok=True,
        detail=f"{engine_name()} on onnxruntime {runtime} (models inside the wheel)",
    )


def check_optional_tools(settings: Settings) -> list[Check]:
    """The parts some tools need: osmium for OSM extracts, ddgs for web search."""
    checks = []
    osmium = _version_of("osmium")
    checks.append(
        Check(
            area="tools",
            name="osmium",
            ok=osmium is not None,
            detail=f"osmium {osmium}: OSM extracts can be indexed"
            if osmium
            else "not installed: the osm tool cannot index a .osm.pbf extract",
            hint="pip install 'gre-suite[osm]'",
            required=osmium is None and settings.osm_extract is not None,
        )
    )
    if settings.search_provider == "ddgs":
        ddgs = _version_of("ddgs")
        checks.append(
            Check(
                area="tools",
                name="web search",
                ok=ddgs is not None,
                detail=f"ddgs {ddgs}" if ddgs else "ddgs not installed: web search is unavailable",
                hint="pip install 'gre-suite[web]', or GRE_SEARCH_PROVIDER=searxng "
                "with GRE_SEARXNG_URL",
            )
        )
    else:
        url = settings.searxng_url or "no GRE_SEARXNG_URL"
        checks.append(
            Check(
                area="tools",
                name="web search",
                ok=bool(settings.searxng_url) or settings.search_provider != "searxng",
                detail=f"{settings.search_provider}: {url}",
                hint="set GRE_SEARXNG_URL to your instance's address",
            )
        )
    return checks


def check_osm_extract(settings: Settings) -> Check:
    """The offline map: a configured extract must be there."""
    extract = settings.osm_extract
    if extract is None:
        return Check(
            area="data",
            name="OSM extract",
            ok=False,
            detail="none configured: offline map look-ups are off (optional)",
            hint="download a region from download.geofabrik.de, then "
            "GRE_OSM_EXTRACT=/path/region.osm.pbf",
        )
    if not Path(extract).is_file():
        return Check(
            area="data",
            name="OSM extract",
            ok=False,
            required=True,
            detail=f"{extract}: no such file",
            hint="fix GRE_OSM_EXTRACT (or osm_extract in the config file)",
        )
    size = Path(extract).stat().st_size / 2**20
    return Check(
        area="data",
        name="OSM extract",
        ok=True,
        detail=f"{extract} ({size:.0f} MiB; indexed once, about 8x its size on disk)",
    )


def check_config_file() -> Check:
    """Which configuration file is read (settings already loaded, so it is valid)."""
    from gre.config import default_config_file

    path = default_config_file()
    if path.is_file():
        return Check(area="config", name="file", ok=True, detail=f"{path} (read)")
    return Check(
        area="config",
        name="file",
        ok=True,
        detail=f"{path} not present: defaults, GRE_* variables and flags apply",
    )


def check_ocr(settings: Settings) -> Check:
    from gre.tools.ocr import apt_package, installed_languages, missing_packs

    if _version_of("pytesseract") is None:
        return Check(
            area="tools",
            name="tesseract",
            ok=False,
            detail="pytesseract missing: lines in scripts RapidOCR lacks are not read",
            hint="pip install pytesseract",
        )
    if shutil.which("tesseract") is None:
        return Check(
            area="tools",
            name="tesseract",
            ok=False,
            detail="not installed",
            hint="apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra",
        )
    langs = installed_languages()
    missing = [apt_package(lang) for lang in settings.ocr_languages if lang not in langs]
    missing += [p for p in missing_packs() if p not in missing]
    detail = f"languages: {', '.join(langs)}"
    if missing:
        return Check(
            area="tools",
            name="tesseract",
            ok=False,
            detail=detail,
            hint="apt-get install " + " ".join(missing),
        )
    return Check(area="tools", name="tesseract", ok=True, detail=detail)


def check_gazetteer(settings: Settings) -> Check:
    from gre.tools.gazetteer import index_is_current, index_path

    path = index_path(settings.cache_dir)
    if index_is_current(path):
        return Check(
            area="data",
            name="gazetteer",
            ok=True,
            detail=f"{path} ({path.stat().st_size / 2**20:.0f} MiB)",
        )
    return Check(
        area="data",
        name="gazetteer",
        ok=True,
        detail=f"not built yet: {path}",
        hint="built automatically on the first `gre locate` (about 15 s)",
    )


def check_cache(settings: Settings) -> Check:
    path = settings.cache_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            area="data",
            name="cache dir",
            ok=False,
            detail=f"{path}: {exc}",
            hint="set GRE_CACHE_DIR to a writable directory",
            required=True,
        )
    return Check(
        area="data", name="cache dir", ok=True, detail=f"{path} ({_dir_size(path) / 2**20:.0f} MiB)"
    )


def _probe(host: str, port: int, timeout_s: float, found: dict[tuple[str, int], str]) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        found[host, port] = f"unreachable ({type(exc).__name__})"
    else:
        found[host, port] = "reachable"


def check_network(settings: Settings, timeout_s: float = NETWORK_PROBE_S) -> list[Check]:
    """Can the network tools' hosts be reached? All probed at once, ``timeout_s`` in all.

    Each probe runs in a daemon thread, so a name lookup that hangs (DNS black-holed,
    which the connect time-out does not cover) is reported instead of waited for.
    """
    if settings.offline:
        return [Check(area="network", name="network", ok=True, detail="offline mode: not probed")]
    found: dict[tuple[str, int], str] = {}
    deadline = time.monotonic() + timeout_s
    threads = [
        threading.Thread(target=_probe, args=(host, port, timeout_s, found), daemon=True)
        for host, port in NETWORK_HOSTS
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    checks = []
    for host, port in NETWORK_HOSTS:
        detail = found.get((host, port)) or f"unreachable (no answer within {timeout_s:g} s)"
        if detail == "reachable":
            checks.append(Check(area="network", name=host, ok=True, detail=detail))
        else:
            checks.append(
                Check(
                    area="network",
                    name=host,
                    ok=False,
                    detail=detail,
                    hint="network tools will be skipped; use --offline to silence",
                )
            )
    return checks


def check_tools() -> Check:
    from gre.tools.base import ToolRegistry

    registry = ToolRegistry.discover()
    detail = ", ".join(registry.names())
    if registry.load_errors:
        return Check(
            area="tools",
            name="plugins",
            ok=False,
            detail=detail,
            hint="; ".join(registry.load_errors),
        )
    return Check(area="tools", name="plugins", ok=True, detail=detail)


def check_plugins() -> list[Check]:
    """Backends, graphs and dataset formats found by entry point; broken ones are named."""
    from gre.agent.vlm import backend_registry
    from gre.eval.datasets import format_registry
    from gre.graphs.specs import graph_registry

    checks = []
    for name, registry in (
        ("backends", backend_registry()),
        ("graphs", graph_registry()),
        ("dataset formats", format_registry()),
    ):
        checks.append(
            Check(
                area="plugins",
                name=name,
                ok=not registry.load_errors,
                detail=", ".join(registry.names()),
                hint="; ".join(registry.load_errors),
            )
        )
    return checks


def run_checks(settings: Settings, *, probe_cuda: bool = True) -> list[Check]:
    """Every check, in report order."""
    checks = [
        Check(
            area="gre",
            name="version",
            ok=True,
            detail=f"gre {__version__}, Python {sys.version.split()[0]}, "
            f"backend {settings.backend}",
        ),
        check_openai(settings),
        *check_transformers(settings, probe_cuda=probe_cuda),
        check_vllm(settings),
        check_config_file(),
        check_scene_ocr(),
        check_ocr(settings),
        *check_optional_tools(settings),
        check_tools(),
        *check_plugins(),
        check_gazetteer(settings),
        check_osm_extract(settings),
        check_cache(settings),
        *check_network(settings),
    ]
    return checks
