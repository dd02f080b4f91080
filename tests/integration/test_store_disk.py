"""The store's disk fills up: the writer says why, the store is opened again if a failed
checkpoint left it unreadable, and once there is room everything logged is stored exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHILD = Path(__file__).resolve().parents[1] / "fulldisk_child.py"


def _run_on_a_small_disk(tmp_path: Path, failing: str) -> tuple[dict[str, object], str]:
    """`fulldisk_child.py` with its store on a 24 MiB tmpfs in a private mount namespace (so the
    disk fills up for real); returns what it printed and its log."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = f'mount -t tmpfs -o size=24m tmpfs "{disk}" && exec "$0" "$@"'
    done = subprocess.run(
        [
            *("unshare", "--mount", "--map-root-user", "sh", "-c", mount),
            *(sys.executable, str(CHILD), str(disk), str(tmp_path / "log"), failing),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


@pytest.mark.parametrize("failing", ["commit", "checkpoint"])
def test_a_full_store_disk_is_reported_and_caught_up_once_there_is_room(
    tmp_path: Path, failing: str
) -> None:
    seen, log = _run_on_a_small_disk(tmp_path, failing)
    error = str(seen["error_while_full"])
    # The writer reports the disk, not what went wrong after it (ROLLBACK of a failed COMMIT).
    assert "No space left on device" in error, error
    assert "rollback" not in log.lower()
    assert seen["failed_again"]
    # Each failure in a row is reported once with its traceback, then in one line.
    assert ", again: " in log
    assert log.count("Traceback") < log.count(", again: ")
    if failing == "checkpoint":
        # DuckDB invalidates a file whose checkpoint failed; without opening it again nothing
        # would read or write it until the server restarts, even with room.
        assert "Checkpoint failed" in error
        assert "the store was opened again" in log
    assert seen["readable_while_full"]
    assert seen["caught_up"]
    assert seen["stored"] == seen["sent"]
