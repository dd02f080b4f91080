"""Replay waves of jobs on the timeline: each run on its own thread, at its simulated start.

Between waves, once nothing is in flight, the timeline jumps to the next wave's start, so no run
ever spans a jump and every duration is real time times the wave's rate. Runs keep their spacing
within a wave even when it starts late.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

import firstwatch
from firstwatch.demo.fleet import Agent
from firstwatch.demo.plan import Job, Wave
from firstwatch.demo.timewarp import Timeline

IDLE_TIMEOUT_S = 600.0


def error_name(exc: BaseException) -> str:
    """An exception's class, qualified by its module unless it is a builtin."""
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


class Replayer:
    """Runs jobs through the fleet on the timeline.

    Args:
        timeline: The simulated time, moved forward between waves.
        fleet: The agents by name.
        on_done: Called (from the job's thread) when a job has finished.
    """

    def __init__(
        self, timeline: Timeline, fleet: Mapping[str, Agent], on_done: Callable[[Job], None]
    ) -> None:
        self.timeline = timeline
        self.fleet = fleet
        self.on_done = on_done
        self._in_flight = 0
        self._idle = threading.Condition()

    def replay(self, waves: Iterable[Wave], on_wave: Callable[[Wave], None] | None = None) -> None:
        """Replay every wave in order; returns when the last run has finished."""
        for wave in waves:
            self.wait_idle()
            # A live wave starts at the real present (the simulation is always behind it).
            start = time.time_ns() if wave.live else wave.start_ns
            segment = self.timeline.jump(start, wave.rate)
            if on_wave is not None:
                on_wave(wave)
            for job in wave.jobs:
                offset = (job.sim_start_ns - wave.start_ns) / wave.rate
                delay = (segment.real_ns + offset - time.time_ns()) / 1e9
                if delay > 0:
                    time.sleep(delay)
                self._launch(job)
        self.wait_idle()

    def wait_idle(self, timeout: float = IDLE_TIMEOUT_S) -> bool:
        """Wait until no run is in flight (at most `timeout` seconds)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def _launch(self, job: Job) -> None:
        with self._idle:
            self._in_flight += 1
        thread = threading.Thread(
            target=self._run, args=(job,), name=f"demo-run-{job.index}", daemon=True
        )
        thread.start()

    def _run(self, job: Job) -> None:
        def note(run: firstwatch.Run) -> None:
            context = run.span.get_span_context()
            job.trace_id = f"{context.trace_id:032x}"
            job.span_id = f"{context.span_id:016x}"
            job.started_ns = self.timeline.now()

        try:
            document = job.document
            if document is None:
                raise RuntimeError(f"job {job.index} has no document")
            self.fleet[job.agent].process(document.path, on_run=note)
            job.status = "ok"
        except Exception as exc:
            job.status = "error"
            job.error_type = error_name(exc)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
            self.on_done(job)
