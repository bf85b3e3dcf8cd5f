"""`gre locate PHOTO...`: live reasoning, then the answer, per photo; batches and a summary."""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gre.cli.common import fail, load_settings, make_console, registered

if TYPE_CHECKING:
    from rich.console import Console

    from gre.agent.vlm.base import VLMBackend
    from gre.config import Settings
    from gre.graphs.locator import Locator
    from gre.records import Hints, Trace


def locate_command(
    photos: Annotated[
        list[str],
        typer.Argument(
            help="Photos, folders (searched recursively) or glob patterns.", show_default=False
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each run's whole trace as one JSON line.")
    ] = False,
    geojson: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional here
        typer.Option("--geojson", help="Write the candidates as a GeoJSON FeatureCollection."),
    ] = None,
    ignore_metadata: Annotated[
        bool, typer.Option("--ignore-metadata", help="Leave EXIF (GPS, time, camera) out.")
    ] = False,
    corroborate_gps: Annotated[
        bool,
        typer.Option(
            "--corroborate-gps", help="With an EXIF GPS fix, still read the photo to check it."
        ),
    ] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Forbid network tools.")] = False,
    backend: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--backend", help=f"{registered('gre.backends')}; default none (tools only)."),
    ] = None,
    graph: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--graph", help=f"{registered('gre.graphs')}; default staged."),
    ] = None,
    model_url: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--model-url", help="OpenAI-compatible base URL (openai backend)."),
    ] = None,
    model: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--model", help="Model name served at --model-url, or a local path."),
    ] = None,
    script: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--script", help="StageResult JSON list for the scripted backend."),
    ] = None,
    max_steps: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--max-steps", help="Stage steps per photo (budget, 3..64)."),
    ] = None,
    kml: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--kml", help="Write the answers as KML (Google Earth)."),
    ] = None,
    csv: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--csv", help="Write one CSV row per photo."),
    ] = None,
    html: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--html", help="Write a self-contained HTML report with a map."),
    ] = None,
    hint: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--hint", help='What you believe, as free text ("probably Spain").'),
    ] = None,
    country: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--country", help="Only this country (ISO alpha-2); repeat for several."),
    ] = None,
    bbox: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--bbox", help="Only inside S,W,N,E (degrees; W > E crosses 180°)."),
    ] = None,
    near: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--near", help='Only within a radius of a place: "Lyon, 50" (km).'),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, max=64, help="Photos located at once in a batch.")
    ] = 1,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive", help="Pause after each stage for review (one photo; gre case)."
        ),
    ] = False,
) -> None:
    """Locate photos: live reasoning, then coordinates, radius, level and alternatives."""
    from gre.cli.photos import expand
    from gre.ingest.photo import not_a_file
    from gre.textnorm import printable

    settings = load_settings(
        ignore_metadata=ignore_metadata or None,
        corroborate_gps=corroborate_gps or None,
        offline=offline or None,
        backend=backend,
        graph=graph,
        model_url=model_url,
        model=model,
        max_steps=max_steps,
    )
    for flag, path in (("--geojson", geojson), ("--kml", kml), ("--csv", csv), ("--html", html)):
        if path is not None and (why := _unwritable(path)):
            raise fail(f"{flag} {printable(str(path))}: {why}")
    hints = _hints(hint, country or [], bbox, near, settings)
    made = _backend(settings, script)
    named, errors = expand(photos)
    for message in errors:
        typer.echo(f"error: {printable(message)}", err=True)
    early = [why for why in map(not_a_file, named) if why]
    if len(early) == len(named):  # nothing to locate: say so before any tool warms up
        for why in early:
            typer.echo(f"error: {printable(why)}", err=True)
        made.close()
        raise typer.Exit(1)
    if interactive:
        from gre.cli.case_command import run_interactive

        if len(named) != 1 or early:
            made.close()
            raise fail("--interactive reviews one photo at a time")
        run_interactive(settings, made, named[0], hints, script)
        return
    locator = _locator(settings, made)
    exports = {"geojson": geojson, "kml": kml, "csv": csv, "html": html}
    failures = _run_batch(locator, named, as_json=as_json, jobs=jobs, exports=exports, hints=hints)
    if failures or errors:
        raise typer.Exit(1)


def _hints(
    text: str | None, countries: list[str], bbox: str | None, near: str | None, settings: Settings
) -> Hints | None:
    """The analyst's hints from the flags; a bad one is a one-line usage error."""
    from pydantic import ValidationError

    from gre.errors import first_error
    from gre.records import Hints

    if text is None and not countries and bbox is None and near is None:
        return None
    data: dict[str, object] = {"text": text, "countries": countries}
    if bbox is not None:
        try:
            data["bbox"] = tuple(float(v) for v in bbox.replace(" ", "").split(","))
        except ValueError:
            raise fail(f"--bbox {bbox!r}: give four numbers S,W,N,E") from None
        if len(data["bbox"]) != 4:  # type: ignore[arg-type]
            raise fail(f"--bbox {bbox!r}: give four numbers S,W,N,E")
    if near is not None:
        data["near"] = _near(near, settings)
    try:
        return Hints.model_validate(data)
    except ValidationError as exc:
        where, message = first_error(exc)
        flag = {"text": "--hint", "countries": "--country", "bbox": "--bbox"}.get(
            where.split(".")[0], "--near"
        )
        raise fail(f"{flag}: {message}") from None


def _near(near: str, settings: Settings) -> dict[str, object]:
    """``"PLACE, RADIUS_KM"``: the place found in the offline gazetteer (or "LAT LON")."""
    from gre.textnorm import printable

    place, sep, radius_text = near.rpartition(",")
    try:
        radius = float(radius_text.strip().lower().removesuffix("km").strip())
    except ValueError:
        radius = -1.0
    if not sep or not place.strip() or radius <= 0:
        raise fail(f'--near {printable(near)!r}: give "PLACE, RADIUS_KM", e.g. "Lyon, 50"')
    place = place.strip()
    words = place.replace(",", " ").split()
    try:
        lat, lon = (float(w) for w in words)
        return {"lat": lat, "lon": lon, "radius_km": radius, "label": place}
    except ValueError:
        pass
    from gre.tools.gazetteer.query import Gazetteer

    gazetteer = Gazetteer.open(settings.cache_dir)
    try:
        found = gazetteer.lookup(place, limit=1)
    finally:
        gazetteer.close()
    if not found:
        raise fail(f"--near: no place named {printable(place)!r} in the offline gazetteer")
    top = found[0]
    label = ", ".join(p for p in (top.name, top.country_code) if p)
    return {"lat": top.lat, "lon": top.lon, "radius_km": radius, "label": label}


def _unwritable(path: Path) -> str | None:
    """Why an export could not be written there, told before the batch runs (None if it can)."""
    import os

    if path.is_dir():
        return "is a folder; name a file"
    folder = path.parent if str(path.parent) else Path(".")
    while not folder.exists() and folder != folder.parent:  # created when written
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} is not writable"
    return None


def _backend(settings: Settings, script: Path | None) -> VLMBackend:
    """The configured backend, checked against the graph (usage errors come first)."""
    from gre.agent.vlm import BackendError, make_backend
    from gre.agent.vlm.backends import MODEL_RUNTIMES
    from gre.graphs.specs import graph_registry
    from gre.plugins import PluginError

    try:
        spec = graph_registry().get(settings.graph)
        made = make_backend(settings, script=script)
    except (BackendError, PluginError) as exc:
        raise fail(str(exc)) from None
    if spec.needs_text_model and not made.capabilities.generates_text:
        made.close()
        runtimes = "|".join(MODEL_RUNTIMES)
        raise fail(
            f"the {spec.name} graph needs a model backend that generates text "
            f"(GRE_BACKEND={runtimes}); {settings.backend!r} does not"
        )
    return made


def _locator(settings: Settings, made: VLMBackend) -> Locator:
    from gre.graphs.locator import Locator
    from gre.plugins import PluginError

    try:
        return Locator(settings, backend=made)
    except PluginError as exc:
        made.close()
        raise fail(str(exc)) from None


def _run_batch(
    locator: Locator,
    photos: list[Path],
    *,
    as_json: bool,
    jobs: int,
    exports: dict[str, Path | None],
    hints: Hints | None = None,
) -> int:
    """Locate every photo (``jobs`` at once), print as each finishes; the number that failed."""
    from gre.export import write_exports
    from gre.render import NO_MODEL_NOTICE, LiveRenderer, render_prediction, render_summary

    out = make_console()
    err = make_console(stderr=True)
    n = len(photos)
    lock = threading.Lock()
    traces: dict[int, Trace] = {}
    with locator:
        live = None if as_json or jobs > 1 else LiveRenderer(out)
        locator.prepare(live)

        def done(i: int, trace: Trace) -> None:
            with lock:
                traces[i] = trace
                _report(out, err, trace, i + 1, n, as_json=as_json, live=live is not None)
                if not as_json and live is not None:
                    render_prediction(out, trace)

        def one(i: int) -> None:
            if live is not None:
                live.position = (i + 1, n) if n > 1 else None
            try:
                trace = locator.locate(photos[i], on_event=live, hints=hints)
            finally:
                if live is not None:
                    live.close()
            done(i, trace)

        if jobs > 1 and n > 1:
            with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="gre-photo") as pool:
                list(pool.map(one, range(n)))
        else:
            for i in range(n):
                one(i)
        ordered = [traces[i] for i in range(n)]
        if n > 1 and not as_json:
            render_summary(out, ordered)
        if any(exports.values()):
            try:
                write_exports(ordered, **exports)
            except OSError as exc:
                where = exc.filename or "an export"
                raise fail(f"cannot write {where}: {exc.strerror or exc}", 1) from None
        if not as_json and locator.backend.name == "none":
            out.print(NO_MODEL_NOTICE, style="dim", markup=False)
    return sum(1 for t in ordered if t.error)


def _report(
    out: Console, err: Console, trace: Trace, i: int, n: int, *, as_json: bool, live: bool
) -> None:
    """What is printed as a photo finishes: its error line, its JSON trace, its progress."""
    from gre.render import printable_answer
    from gre.textnorm import printable

    if trace.error:
        err.print(f"error: {printable(trace.error)}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        sys.stdout.write(json.dumps(trace.model_dump(mode="json"), ensure_ascii=False))
        sys.stdout.write("\n")
        sys.stdout.flush()
    if as_json or not live:  # progress where the live view is not shown: stderr, or a line
        target = err if as_json else out
        target.print(
            f"[{i}/{n}] {printable_answer(trace)}", markup=False, highlight=False, soft_wrap=True
        )
