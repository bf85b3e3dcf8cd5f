"""The ``gre`` command line. Heavy modules are imported inside commands, so --help stays fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gre.cli.common import fail, load_settings, make_console

app = typer.Typer(
    name="gre",
    help="Tool-augmented geolocation reasoning for photos.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tools_app = typer.Typer(help="List and run the tools (built-in and plugins).", no_args_is_help=True)
app.add_typer(tools_app, name="tools")


def _register_eval() -> None:
    from gre.cli.eval_command import eval_command

    app.command("eval")(eval_command)


def _register_case() -> None:
    from gre.cli.case_command import case_app

    app.add_typer(case_app, name="case")


def _register_locate() -> None:
    from gre.cli.locate_command import locate_command

    app.command("locate")(locate_command)


_register_locate()  # first, so `gre --help` lists it first


def _register_schema() -> None:
    from gre.cli.schema_command import schema_command

    app.command("schema")(schema_command)


def _version(value: bool) -> None:
    if value:
        from gre import __version__

        typer.echo(f"gre {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Tool-augmented geolocation reasoning for photos."""


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Do not probe the network.")] = False,
) -> None:
    """What this machine can run: model backends, CUDA, OCR languages, data, network."""
    from gre.doctor import run_checks

    settings = load_settings(offline=offline or None)
    checks = run_checks(settings)
    failed = [c for c in checks if c.required and not c.ok]
    if as_json:
        typer.echo(json.dumps([c.model_dump() for c in checks], indent=1))
    else:
        from rich.text import Text

        console = make_console()
        for c in checks:
            if c.ok:
                mark, style = "ok  ", "green"
            elif c.required:
                mark, style = "FAIL", "bold red"
            else:
                mark, style = "no  ", "yellow"
            line = Text(f"{mark} ", style=style)
            line.append(f"{c.area}/{c.name}", style="bold")
            line.append(f"  {c.detail}")
            console.print(line)
            if c.hint and not c.ok:
                console.print(Text(f"     → {c.hint}", style="dim"))
    if failed:
        raise typer.Exit(1)


@tools_app.command("list")
def tools_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every registered tool: name, source package, network need, description."""
    from gre.tools.base import ToolRegistry

    registry = ToolRegistry.discover()
    rows = [
        {
            "name": spec.name,
            "package": spec.package,
            "needs_network": spec.needs_network,
            "network": spec.network,
            "description": spec.description,
        }
        for spec in registry.specs.values()
    ]
    if as_json:
        typer.echo(json.dumps({"tools": rows, "errors": registry.load_errors}, indent=1))
        return
    from rich.table import Table
    from rich.text import Text

    console = make_console()
    table = Table(show_edge=False)
    for col in ("tool", "package", "network", "description"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["package"]),
            str(row["network"]),
            Text(_first_sentence(str(row["description"]))),
        )
    console.print(table)
    for error in registry.load_errors:
        console.print(Text(f"failed to load: {error}", style="yellow"))


def _parse_args(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as JSON when they parse, else as strings."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--arg takes key=value, got {pair!r}")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _first_sentence(text: str) -> str:
    """The first sentence of a description, for the table (`--json` has it all)."""
    text = " ".join(text.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def _unknown_fields(names: list[str], known: list[str]) -> str:
    from gre.config import unknown_keys

    return f"{unknown_keys('input field(s)', names, known)}; fields: {', '.join(known)}"


@tools_app.command("run")
def tools_run(
    name: Annotated[str, typer.Argument(help="Tool name (see `gre tools list`).")],
    arg: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--arg", help="Input field as key=value (JSON values allowed); repeat."),
    ] = None,
    input_json: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--input", help="The whole input as a JSON object."),
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Forbid network tools.")] = False,
) -> None:
    """Call one tool by hand and print its output as JSON."""
    from gre.tools.toolbox import ToolBox

    params: dict[str, Any] = {}
    if input_json:
        try:
            loaded = json.loads(input_json)
        except ValueError as exc:
            raise fail(f"--input is not JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise fail("--input must be a JSON object")
        params.update(loaded)
    params.update(_parse_args(arg or []))
    box = ToolBox(load_settings(offline=offline or None))
    try:
        if name not in box.registry.specs:
            raise fail(f"no tool named {name!r}; known: {', '.join(box.registry.names())}")
        fields = box.registry.specs[name].cls.input_model.model_fields
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise fail(f"{name}: {_unknown_fields(unknown, sorted(fields))}")
        box.prepare(name)
        out, call = box.call(name, params, stage="cli", call_id="t1")
    finally:
        box.close()
    if out is None:
        kind = "skipped" if call.skipped else "failed"
        raise fail(f"{name} {kind}: {call.error}", 1)
    typer.echo(json.dumps(out.model_dump(mode="json"), ensure_ascii=False, indent=1))


@app.command()
def report(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Run log (JSON Lines). Several are compared, or merged with --merge.",
            metavar="RUN",
            show_default=False,
        ),
    ],
    compare: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option("--compare", help="Another run to show beside RUN, with differences; repeat."),
    ] = None,
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--out",
            help="Folder for report.md, report.json and the PNG plots.",
            show_default="<run>.report/ next to RUN",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of tables.")
    ] = False,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for the 95% intervals.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    merge: Annotated[
        bool, typer.Option("--merge", help="The RUN logs are shards of one run: merge them.")
    ] = False,
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="Skip log lines that are not valid records (counted)."),
    ] = False,
    samples: Annotated[
        bool,
        typer.Option(
            "--samples", help="Also list every sample: status, error, level, confidence, reason."
        ),
    ] = False,
) -> None:
    """Metrics of evaluation runs: accuracy at 1-2500 km with 95% intervals, error, GeoScore.

    Tables fit the terminal's width; compared runs also show how their settings differ.
    """
    from gre.eval.log import LogLineError
    from gre.eval.report import report as make_report

    groups: list[Path | list[Path]] = [runs] if merge else list(runs)
    groups += list(compare or [])
    console = None if as_json else make_console()
    try:
        result = make_report(
            groups,
            out,
            console=console,
            bootstrap=bootstrap,
            seed=seed,
            skip_bad=skip_bad,
            samples=samples,
        )
    except LogLineError as exc:
        raise fail(f"{exc} (--skip-bad skips bad lines)") from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        why = "exists and is not a folder" if isinstance(exc, FileExistsError) else exc.strerror
        raise fail(f"cannot write the report: {where}{why or exc}", 1) from None
    for note in result.skipped:
        typer.echo(f"warning: {note}", err=True)
    if as_json:
        typer.echo(result.model_dump_json(indent=1))
    elif console is not None and result.files:
        console.print(f"wrote {Path(result.files[0]).parent}/", style="dim", markup=False)


_register_eval()
_register_case()
_register_schema()


def main() -> None:
    """Console-script entry point."""
    import os

    from gre import netguard

    guard = os.environ.get(netguard.ENV, "").strip().lower()
    if guard in ("loopback", "1", "on"):
        netguard.install()
    elif guard not in ("", "0", "off"):
        typer.echo(f"error: {netguard.ENV}={guard!r}: use loopback (or off)", err=True)
        raise SystemExit(2)
    app()


if __name__ == "__main__":
    main()
