"""`firstwatch demo`: a server, a fleet, 56 simulated hours, a summary, then serve until Ctrl-C.

Phases, each with a progress bar: generate the documents (while the server starts), replay
staging, replay production, flush (until the server has every run). Then the truth file, the
summary table and the URLs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import firstwatch
from firstwatch.cli.errors_cmd import status_table
from firstwatch.demo import documents, truth
from firstwatch.demo.fakeapi import FakeApi
from firstwatch.demo.fleet import AGENTS, Agent, Services
from firstwatch.demo.plan import ENVIRONMENTS, MINUTE, Plan, Wave, make_plan
from firstwatch.demo.replay import Replayer
from firstwatch.demo.serverproc import ServerError, ServerProcess
from firstwatch.demo.summary import server_counts, summary_table
from firstwatch.demo.timewarp import Timeline
from firstwatch.demo.world import World
from firstwatch.profiling import profile_input

STORE_NAME = "demo.duckdb"
FLUSH_TIMEOUT_S = 120.0
BUSY_AFTER_PEAK = 10 * MINUTE  # the registry stays overloaded this long after the batch arrived


@dataclass(frozen=True)
class DemoOptions:
    """What `firstwatch demo` was asked to do."""

    runs: int = 300
    staging_runs: int | None = None
    speed: float = 1.0
    store_dir: Path | None = None
    seed: int = 7
    exit_after_summary: bool = False


class DemoError(RuntimeError):
    """The demo cannot go on (a busy store directory, a server that does not start…)."""


def _sim_time(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.timezone.utc).strftime("%a %H:%M UTC")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM stop the demo the way Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<36}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _generate(plan: Plan, directory: Path, world: World, progress: Progress) -> None:
    task = progress.add_task("generate documents", total=len(plan.jobs))
    for job in plan.jobs:
        folder = directory / job.environment / job.agent
        job.document = documents.write(job.spec, folder, job.seed)
        world.add_documents({job.document.digest: job.document})
        progress.advance(task)
    # Load the profilers' language model now, not inside the first run (where it would last
    # seconds of simulated time).
    first = plan.jobs[0].document
    if first is not None:
        profile_input(first.path, filename=first.path.name)


def _replay(
    environment: str,
    plan: Plan,
    timeline: Timeline,
    services: Services,
    server_url: str,
    progress: Progress,
) -> None:
    jobs = plan.jobs_in(environment)
    task = progress.add_task(environment, total=len(jobs))
    firstwatch.init(
        environment=environment, endpoint=server_url, time_warp=timeline, exit_timeout=10
    )
    fleet: dict[str, Agent] = {cls.name: cls(services) for cls in AGENTS}

    def on_wave(wave: Wave) -> None:
        label = "live" if wave.live else "peak" if any(j.peak for j in wave.jobs) else ""
        progress.update(task, description=f"{environment}  {_sim_time(timeline.now())} {label}")

    try:
        Replayer(timeline, fleet, lambda job: progress.advance(task)).replay(
            plan.waves(environment), on_wave
        )
    finally:
        for agent in fleet.values():
            agent.close()
    progress.update(task, description=environment)
    firstwatch.shutdown(timeout=60)


def _stored_runs(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/api/v1/agents")
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()["agents"]
    return rows


def _verdict(client: httpx.Client, production_start_ns: int) -> dict[str, Any]:
    """The server's status of each agent in production, judged since production began."""
    response = client.get("/api/v1/agents", params={"since": truth.iso_time(production_start_ns)})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    body["agents"] = [a for a in body["agents"] if a["environment"] == "production"]
    return body


def _verdict_table(verdict: dict[str, Any], since: str) -> Table:
    """The server's verdict, titled for the demo's closing lines."""
    table = status_table(verdict)
    table.title = f"What firstwatch says about production since {since}"
    table.title_justify = "left"
    table.caption = (
        "why, in detail: the dashboard below, or firstwatch errors | latency | deps, "
        "and firstwatch drift --agent NAME"
    )
    table.caption_justify = "left"
    table.box = box.SIMPLE_HEAD
    return table


def _flush(
    client: httpx.Client, expected: dict[tuple[str, str], int], progress: Progress
) -> list[dict[str, Any]]:
    """Wait (bounded) until the server has every run of each agent and environment, complete.

    Returns:
        The server's last `/api/v1/agents` rows.
    """
    task = progress.add_task("flush (runs stored)", total=sum(expected.values()))
    deadline = time.monotonic() + FLUSH_TIMEOUT_S
    while True:
        rows = _stored_runs(client)
        stored = server_counts(rows)
        done = sum(min(stored.get(key, (0, 0))[0], n) for key, n in expected.items())
        progress.update(task, completed=done)
        incomplete = sum(int(r.get("incomplete") or 0) for r in rows)
        if done == sum(expected.values()) and not incomplete:
            return rows
        if time.monotonic() > deadline:
            return rows
        time.sleep(0.25)


def _truth(plan: Plan, world: World) -> list[truth.RunTruth]:
    agents = {cls.name: cls for cls in AGENTS}
    return [
        truth.run_truth(
            job,
            world.facts(job.trace_id),
            agents[job.agent].version,
            agents[job.agent].registry_step,
        )
        for job in sorted(plan.jobs, key=lambda j: j.sim_start_ns)
        if job.trace_id
    ]


def _prepare(store_dir: Path) -> Path:
    store_dir.mkdir(parents=True, exist_ok=True)
    store = store_dir / STORE_NAME
    if store.exists():
        raise DemoError(f"{store} exists: give the demo an empty --store-dir")
    return store


def run_demo(options: DemoOptions, console: Console) -> int:
    """Run the demo.

    Args:
        options: Its options.
        console: Where progress and the summary go.

    Returns:
        The exit code: 0, 1 when it could not run, 130 when interrupted.
    """
    store_dir = options.store_dir or Path(tempfile.mkdtemp(prefix="firstwatch-demo-"))
    try:
        store = _prepare(store_dir)
    except (DemoError, OSError) as exc:
        console.print(f"[red]firstwatch demo: {exc}[/red]")
        return 1
    server = ServerProcess(store, store_dir / "server.log")
    api: FakeApi | None = None
    serving = False
    try:
        with _sigterm_interrupts():
            server.start()
            staging_runs = options.staging_runs
            if staging_runs is None:
                staging_runs = max(10, options.runs // 3)
            plan = make_plan(
                runs=options.runs,
                staging_runs=staging_runs,
                speed=options.speed,
                history_end_ns=time.time_ns(),
                seed=options.seed,
            )
            for note in plan.notes:
                console.print(f"[yellow]note: {note}[/yellow]")
            first = min(j.sim_start_ns for j in plan.jobs)
            timeline = Timeline(first, plan.quiet_rate)
            world = World(
                timeline,
                plan.limits,
                drift_from_ns=plan.production_start_ns,
                busy_window=(plan.peak_start_ns, plan.peak_end_ns + BUSY_AFTER_PEAK),
                seed=options.seed,
            )
            api = FakeApi(world)
            started = time.monotonic()
            with _progress(console) as progress:
                _generate(plan, store_dir / "documents", world, progress)
                server_url = server.wait_ready()
                api.start()
                # Agents wait as long in simulated time at the peak and live; never less in
                # real time than at the peak (a quiet hour's hiccup is no timeout).
                peak_rate = plan.peak_rate

                def patience(sim_seconds: float) -> float:
                    return sim_seconds / min(timeline.rate(), peak_rate)

                services = Services(base_url=api.url, patience=patience)
                for environment in ENVIRONMENTS:
                    _replay(environment, plan, timeline, services, server_url, progress)
                history_end = timeline.now()
                with httpx.Client(base_url=server_url, timeout=30) as client:
                    runs = _truth(plan, world)
                    expected = Counter((r.agent, r.environment) for r in runs)
                    stored = _flush(client, expected, progress)
                    verdict = _verdict(client, plan.production_start_ns)
            summary = truth.write_truth(
                store_dir / truth.FILENAME,
                runs,
                {
                    "history_start": truth.iso_time(min(j.sim_start_ns for j in plan.jobs)),
                    "history_end": truth.iso_time(history_end),
                    "production_start": truth.iso_time(plan.production_start_ns),
                    "peak_start": truth.iso_time(plan.peak_start_ns),
                    "peak_end": truth.iso_time(plan.peak_end_ns),
                    "runs_per_agent": options.runs,
                    "staging_runs_per_agent": staging_runs,
                    "speed": options.speed,
                    "seed": options.seed,
                    "languages": list(plan.languages),
                    "notes": plan.notes,
                },
            )
            if not console.is_terminal:
                console.width = max(console.width, 120)  # piped: 80 columns is too narrow
            console.print(summary_table(summary["groups"], server_counts(stored)))
            console.print(_verdict_table(verdict, summary["production_start"]))
            _announce(console, server_url, store_dir, store, time.monotonic() - started)
            if options.exit_after_summary:
                return 0
            console.print("Serving until Ctrl-C.")
            serving = True
            while server.running:
                time.sleep(0.5)
            console.print(f"[red]the server stopped:[/red]\n{server.output()[-2000:]}")
            return 1
    except KeyboardInterrupt:
        console.print("Stopping.")
        return 0 if serving else 130
    except (DemoError, ServerError) as exc:
        console.print(f"[red]firstwatch demo: {exc}[/red]")
        return 1
    finally:
        firstwatch.shutdown(timeout=2)
        if api is not None:
            api.stop()
        server.stop()


def _announce(console: Console, url: str, store_dir: Path, store: Path, seconds: float) -> None:
    console.print(f"Replayed in {seconds:.0f} s.")
    console.print(f"Dashboard: {url}/")
    console.print(f"API:       {url}/api/v1/runs")
    console.print(f"Truth:     {store_dir / truth.FILENAME}")
    console.print(f"Store:     {store}")
    console.print(f"Later:     firstwatch serve --store {store}")
