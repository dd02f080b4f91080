"""What the running server holds: settings, store, log, ingestor and writer."""

from __future__ import annotations

from dataclasses import dataclass

from firstwatch.ingest.pipeline import Ingestor
from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.ingest.writer import Writer
from firstwatch.settings import Settings
from firstwatch.store.base import Store


@dataclass
class AppState:
    """Shared by every request handler (HTTP and gRPC)."""

    settings: Settings
    store: Store
    wal: WriteAheadLog
    ingestor: Ingestor
    writer: Writer

    def wake_writer(self) -> None:
        """New records are in the log."""
        self.writer.wake()
