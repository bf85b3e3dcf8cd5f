"""`gre eval DATASET`: run the agent over a benchmark, resumably, with live progress."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gre.cli.common import registered

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from gre.eval.log import SampleResult
    from gre.eval.runner import EvalConfig, Progress


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
        bool,
        typer.Option(
            "--use-metadata",
            help="Let the agent read EXIF (off by default; refused for a folder dataset, "
            "whose truth is that EXIF).",
        ),
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
    ray: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run photos on Ray workers: local (this machine's cluster, else a new one), "
            "auto, or HOST:PORT / ray://HOST:PORT. Needs gre-suite[ray].",
        ),
    ] = None,
    ray_workers: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--ray-workers", help="Ray worker processes (default: one per CPU)."),
    ] = None,
) -> None:
    """Evaluate on a benchmark: concurrent, resumable, every result logged as it finishes.

    Exits 1 when photos failed (those the model could not answer are retried by the
    same command), when the log cannot be written or another run is writing it;
    2 on bad options, datasets or logs.
    """
    from rich.console import Console

    from gre.cli.common import fail, load_settings
    from gre.errors import GreError
    from gre.eval.datasets import DatasetError, load_dataset
    from gre.eval.errors import ClusterError
    from gre.eval.log import LogBusy, LogLineError, LogWriteError
    from gre.eval.runner import Runner

    err = Console(stderr=True, highlight=False)
    try:
        k, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise fail(f"--shard takes K/N, got {shard[:40]!r}") from None
    urls = list(model_url or [])
    config = _config(concurrency, max_attempts, limit, (k, n), urls, keep_traces, ray, ray_workers)
    if ray is not None:
        from gre.eval.ray_pool import require_ray

        try:
            require_ray()
        except GreError as exc:
            raise fail(str(exc)) from None
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
    log_path = out or Path("runs") / f"{data.name}-{settings.graph}.jsonl"
    live = None if quiet else _Live(err)
    try:
        runner = Runner(data, settings, config, log_path)
        progress = asyncio.run(runner.run(live))
    except LogLineError as exc:
        raise fail(f"{exc}; repair or remove that line, or use a new --out") from None
    except (LogWriteError, ClusterError) as exc:
        raise fail(f"{exc}; the run stopped, run it again to resume", 1) from None
    except LogBusy as exc:
        raise fail(str(exc), 1) from None
    except GreError as exc:
        raise fail(str(exc)) from None
    finally:
        if live is not None:
            live.stop()
    line = (
        f"{progress.done + progress.skipped}/{progress.total} done "
        f"({progress.skipped} from an earlier run), {progress.failed} failed; log: {log_path}"
    )
    Console(highlight=False).print(line, markup=False)
    failed = progress.failed + progress.failed_before
    if failed:
        retry = (
            f"; {progress.retryable} could not reach the model: run the same command to retry"
            if progress.retryable
            else ""
        )
        raise fail(f"{failed} of {progress.total} photos failed{retry}", 1)


_OPTION_NAMES = {
    "concurrency": "--concurrency",
    "max_attempts": "--max-attempts",
    "limit": "--limit",
    "shard": "--shard",
    "ray": "--ray",
    "ray_workers": "--ray-workers",
}


def _config(
    concurrency: int,
    max_attempts: int,
    limit: int | None,
    shard: tuple[int, int],
    urls: list[str],
    keep_traces: bool,
    ray: str | None = None,
    ray_workers: int | None = None,
) -> EvalConfig:
    """The run's EvalConfig; a one-line usage error naming the flag when a value is out of range."""
    from pydantic import ValidationError

    from gre.cli.common import fail
    from gre.eval.runner import EvalConfig

    try:
        return EvalConfig(
            concurrency=concurrency,
            max_attempts=max_attempts,
            limit=limit,
            shard=shard,
            model_urls=urls,
            keep_traces=keep_traces,
            ray=ray,
            ray_workers=ray_workers,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc", ())
        name = _OPTION_NAMES.get(str(loc[0]) if loc else "", "an option")
        given = first.get("input")
        raise fail(f"{name} {given!r}: {str(first['msg']).lower()}") from None


class _Live:
    """A progress hook drawing a rich progress bar with running accuracy."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self.bar = Bar(
            TextColumn("[bold]eval"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None

    def __call__(self, progress: Progress, result: SampleResult | None) -> None:
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task("eval", total=progress.total, stats="")
        n = max(1, progress.done)
        stats = (
            f"25 km {progress.within_25 / n:.1%}  750 km {progress.within_750 / n:.1%}  "
            f"{progress.rate:.2f} photos/s  failed {progress.failed}"
        )
        self.bar.update(self.task, completed=progress.done + progress.skipped, stats=stats)
        if progress.done + progress.skipped >= progress.total:
            self.stop()

    def stop(self) -> None:
        """End the display (also when the run stops early)."""
        if self.task is not None and self.bar.live.is_started:
            self.bar.stop()
