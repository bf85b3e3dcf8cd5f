"""`gre eval DATASET`: run the agent over a benchmark, resumably, with live progress."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gre.cli.common import registered

if TYPE_CHECKING:
    from rich.console import Console

    from gre.eval.log import SampleResult
    from gre.eval.runner import Progress, ProgressHook


def eval_command(
    dataset: Annotated[Path, typer.Argument(help="Dataset file or folder.", show_default=False)],
    out: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional here
        typer.Option(
            "--out",
            help="Run log (JSONL); re-running resumes it. Default runs/NAME-GRAPH.jsonl",
        ),
    ] = None,
    dataset_format: Annotated[
        str, typer.Option("--format", help=f"auto (detect), {registered('gre.datasets')}.")
    ] = "auto",
    images: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--images", help="Image folder for CSV datasets."),
    ] = None,
    graph: Annotated[str, typer.Option("--graph", help=f"{registered('gre.graphs')}.")] = "staged",
    backend: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--backend", help=f"{registered('gre.backends')}; default from config."),
    ] = None,
    model_url: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--model-url", help="OpenAI-compatible server; repeat to load-balance."),
    ] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Model name.")] = None,  # noqa: UP045
    concurrency: Annotated[int, typer.Option("--concurrency", help="Photos in flight.")] = 4,
    limit: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--limit", help="Only the first N samples (of this shard)."),
    ] = None,
    shard: Annotated[str, typer.Option("--shard", help="K/N: this machine's share.")] = "1/1",
    max_attempts: Annotated[
        int, typer.Option("--max-attempts", help="Attempts per photo before it counts as failed.")
    ] = 2,
    use_metadata: Annotated[
        bool, typer.Option("--use-metadata", help="Let the agent read EXIF (off by default).")
    ] = False,
    web: Annotated[
        bool, typer.Option("--web", help="Allow network tools (web search drops leaked results).")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop on the first bad dataset record.")
    ] = False,
    keep_traces: Annotated[
        bool, typer.Option("--traces", help="Keep each photo's whole trace in the log.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
) -> None:
    """Evaluate on a benchmark: concurrent, resumable, every result logged as it finishes."""
    from rich.console import Console

    from gre.cli.common import fail, load_settings
    from gre.eval.datasets import DatasetError, load_dataset
    from gre.eval.runner import EvalConfig, EvalError, Runner

    err = Console(stderr=True, highlight=False)
    try:
        k, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise fail(f"--shard takes K/N, got {shard!r}") from None
    urls = list(model_url or [])
    settings = load_settings(
        graph=graph,
        backend=backend,
        model=model,
        model_url=urls[0] if urls else None,
        ignore_metadata=not use_metadata,
        offline=not web,
    )
    try:
        data = load_dataset(dataset, format=dataset_format, images=images, strict=strict)
    except DatasetError as exc:
        raise fail(str(exc)) from None
    if data.report.loaded < data.report.total:
        err.print(f"dataset: {data.report.summary()}", markup=False)
    if not data.samples:
        raise fail(f"{dataset}: no usable samples")
    config = EvalConfig(
        concurrency=concurrency,
        max_attempts=max_attempts,
        limit=limit,
        shard=(k, n),
        model_urls=urls,
        keep_traces=keep_traces,
    )
    log_path = out or Path("runs") / f"{data.name}-{settings.graph}.jsonl"
    from gre.agent.vlm import BackendError
    from gre.plugins import PluginError

    try:
        runner = Runner(data, settings, config, log_path)
        progress = asyncio.run(runner.run(None if quiet else _live(err)))
    except (EvalError, BackendError, PluginError) as exc:
        raise fail(str(exc)) from None
    line = (
        f"{progress.done + progress.skipped}/{progress.total} done "
        f"({progress.skipped} from an earlier run), {progress.failed} failed; log: {log_path}"
    )
    Console(highlight=False).print(line, markup=False)


def _live(console: Console) -> ProgressHook:
    """A progress hook drawing a rich progress bar with running accuracy."""
    from rich.progress import BarColumn, TaskID, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("[bold]eval"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[stats]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    state: dict[str, TaskID] = {}

    def hook(progress: Progress, result: SampleResult | None) -> None:
        if "task" not in state:
            bar.start()
            state["task"] = bar.add_task("eval", total=progress.total, stats="")
        n = max(1, progress.done)
        stats = (
            f"25 km {progress.within_25 / n:.1%}  750 km {progress.within_750 / n:.1%}  "
            f"{progress.rate:.2f} photos/s  failed {progress.failed}"
        )
        bar.update(state["task"], completed=progress.done + progress.skipped, stats=stats)
        if progress.done + progress.skipped >= progress.total:
            bar.stop()

    return hook
