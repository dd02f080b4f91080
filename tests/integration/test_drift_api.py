"""Input drift end to end: documents through the SDK into a real server, drift over its REST API.

A contract extractor is tested in staging on clean English text PDFs; production sends the same
kind of documents mixed with scans, letters in other languages, images named `.pdf` and text
pasted five times over. An invoice agent gets clean documents on both sides and must stay clean.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import documents
from documents import CLEAN, ODD_KINDS, Input
from firstwatch.profiling import feature_for, profile_input
from serverproc import ServerProcess, start_server, wait_for

pytestmark = pytest.mark.integration

EXTRACTOR = "contract-extractor"
CONTROL = "invoice-agent"
STAGING_RUNS = 100
PRODUCTION_CLEAN = 64
ODD_EACH = 12
CONTROL_RUNS = 60
MIN_RUNS = 50

AGENT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import firstwatch

    manifest = json.loads(Path(sys.argv[1]).read_text())
    firstwatch.init(environment=manifest["environment"])
    for item in manifest["runs"]:
        data = item["text"] if item["path"] is None else Path(item["path"]).read_bytes()
        with firstwatch.run(
            item["agent"], version=item["version"], input=data, filename=item["filename"]
        ) as run:
            trace_id = format(run.span.get_span_context().trace_id, "032x")
        print(json.dumps({"trace_id": trace_id, "kind": item["kind"], "agent": item["agent"]}))
    firstwatch.shutdown()
    """
)


@dataclass(frozen=True)
class Sent:
    """One run sent through the SDK."""

    agent: str
    version: str
    environment: str
    input: Input
    trace_id: str = ""


def send(server: ServerProcess, folder: Path, environment: str, runs: list[Sent]) -> list[Sent]:
    """Run the agent in a subprocess (our SDK, real OTLP export); return the runs with ids."""
    manifest = folder / f"{environment}-{len(list(folder.glob('*.json')))}.json"
    manifest.write_text(
        json.dumps(
            {
                "environment": environment,
                "runs": [
                    {
                        "agent": r.agent,
                        "version": r.version,
                        "kind": r.input.kind,
                        "path": None if r.input.path is None else str(r.input.path),
                        "filename": r.input.filename,
                        "text": r.input.text,
                    }
                    for r in runs
                ],
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-c", AGENT, str(manifest)],
        env={**server.env, "FIRSTWATCH_ENDPOINT": server.url},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(printed) == len(runs)
    return [
        Sent(r.agent, r.version, r.environment, r.input, p["trace_id"])
        for r, p in zip(runs, printed, strict=True)
    ]


def arrived(api: httpx.Client, sent: list[Sent]) -> None:
    """Wait (bounded) until the server holds every run sent."""
    want = Counter((r.agent, r.environment, r.version) for r in sent)

    def complete() -> bool:
        rows = api.get("/api/v1/agents").json()["agents"]
        have = {(r["agent"], r["environment"], r["version"]): r["runs"] for r in rows}
        return all(have.get(key, 0) >= count for key, count in want.items())

    wait_for(complete, timeout=60, what=f"runs {dict(want)}")


@dataclass
class World:
    """A server holding both agents' runs, and what was sent."""

    server: ServerProcess
    api: httpx.Client
    folder: Path
    staging: list[Sent]
    production: list[Sent]


def inputs(folder: Path, kind: str, seeds: range) -> list[Input]:
    return [documents.make_input(folder, kind, seed) for seed in seeds]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("inputs")
    server = start_server(
        tmp_path_factory.mktemp("server"), env={"FIRSTWATCH_DRIFT_MIN_RUNS": str(MIN_RUNS)}
    )
    try:
        staging = [
            Sent(EXTRACTOR, "1.1", "staging", i) for i in inputs(folder, CLEAN, range(STAGING_RUNS))
        ] + [
            Sent(CONTROL, "2.0", "staging", i)
            for i in inputs(folder, CLEAN, range(5000, 5000 + CONTROL_RUNS))
        ]
        odd = [
            i
            for j, kind in enumerate(ODD_KINDS)
            for i in inputs(folder, kind, range(2000 + 100 * j, 2000 + 100 * j + ODD_EACH))
        ]
        clean = inputs(folder, CLEAN, range(1000, 1000 + PRODUCTION_CLEAN))
        # Odd inputs arrive among the clean ones, not in a block.
        mixed = [x for pair in zip(clean, odd, strict=False) for x in pair]
        mixed += clean[len(odd) :] + odd[len(clean) :]
        production = [Sent(EXTRACTOR, "1.1", "production", i) for i in mixed] + [
            Sent(CONTROL, "2.1", "production", i)
            for i in inputs(folder, CLEAN, range(6000, 6000 + CONTROL_RUNS))
        ]
        with server.client() as api:
            staging = send(server, folder, "staging", staging)
            production = send(server, folder, "production", production)
            arrived(api, staging + production)
            yield World(server, api, folder, staging, production)
    finally:
        server.stop()


def profile_of(item: Input) -> dict[str, Any]:
    if item.text is not None:
        return dict(profile_input(item.text))
    assert item.path is not None
    return dict(profile_input(item.path.read_bytes(), filename=item.filename))


def unlike_staging_share(staging: list[Any], production: list[Any]) -> float:
    """Share of production values no staging run had: missing where staging never was (or the
    reverse), a category staging never had, a number outside staging's range."""
    present = [v for v in staging if v is not None]
    numeric = bool(present) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in present
    )
    odd = 0
    for value in production:
        if value is None:
            odd += len(present) == len(staging)
        elif not present:
            odd += 1
        elif numeric:
            odd += not min(present) <= value <= max(present)
        else:
            odd += value not in present
    return odd / len(production)


def get(api: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_major_drift_on_exactly_the_features_that_moved(world: World) -> None:
    report = get(world.api, "/api/v1/drift", agent=EXTRACTOR)
    assert report["verdict"] == "major"
    assert report["baseline"]["source"] == "default"
    assert report["baseline"]["cohort"] == "env=staging,version=1.1"
    assert report["baseline"]["runs"] == STAGING_RUNS
    window = report["window"]
    assert (window["environment"], window["version"], window["since"]) == (
        "production",
        "1.1",
        None,
    )
    assert window["runs"] == PRODUCTION_CLEAN + ODD_EACH * len(ODD_KINDS)

    # The truth, from the documents themselves: which features production moved.
    staging = [profile_of(s.input) for s in world.staging if s.agent == EXTRACTOR]
    production = [profile_of(s.input) for s in world.production if s.agent == EXTRACTOR]
    names = {n for p in staging + production for n in p if (f := feature_for(n)) and f.drift}
    share = {
        n: unlike_staging_share([p.get(n) for p in staging], [p.get(n) for p in production])
        for n in names
    }
    moved = {n for n, s in share.items() if s >= 0.05}
    still = {n for n, s in share.items() if s == 0}
    assert moved | still == names, {n: s for n, s in share.items() if 0 < s < 0.05}
    # The odd inputs move what they should, and some features do not move at all.
    assert {
        "doc.scanned",
        "doc.sniffed_type",
        "doc.type_mismatch",
        "text.language",
        "text.script",
        "text.repeated_share",
        "doc.text_chars_per_page",
        "profile.kind",
    } <= moved
    assert "profile.capped" in still

    severity = {f["feature"]: f["severity"] for f in report["features"]}
    assert set(severity) == names, "profile.ms and other bookkeeping are not compared"
    assert {n for n, s in severity.items() if s == "major"} == moved
    assert {n for n, s in severity.items() if s == "none"} == still

    by_name = {f["feature"]: f for f in report["features"]}
    language = by_name["text.language"]
    assert language["kind"] == "categorical" and language["presence"] == "both"
    assert set(language["novel_categories"]) == set(documents.FOREIGN_LANGUAGES) - {"en"}
    assert language["p_adjusted"] < report["alpha"] and language["psi"] > 0.25
    assert language["baseline"]["top"][0] == ["en", 1.0]
    assert any(b["novel"] and b["label"] == "de" for b in language["bins"])
    sniffed = by_name["doc.sniffed_type"]
    assert sniffed["novel_categories"] == ["image/png"]
    chars = by_name["doc.text_chars_per_page"]
    assert chars["kind"] == "numeric" and chars["ks"] > 0.1
    assert chars["baseline"]["n"] == STAGING_RUNS and chars["current"]["min"] == 0
    numeric_bins = [b for b in chars["bins"] if b["label"] != "(missing)"]
    assert sum(b["baseline_count"] for b in numeric_bins) == STAGING_RUNS
    assert numeric_bins[0]["low"] is None and numeric_bins[-1]["high"] is None


def test_an_agent_whose_inputs_did_not_change_is_clean(world: World) -> None:
    report = get(world.api, "/api/v1/drift", agent=CONTROL)
    assert report["verdict"] == "none", report["reason"]
    assert report["features"] and all(f["severity"] == "none" for f in report["features"])
    # Production runs 2.1; staging only ever ran 2.0: the baseline is the agent's staging runs.
    assert report["window"]["version"] == "2.1"
    assert report["baseline"]["cohort"] == "env=staging"
    assert report["baseline"]["runs"] == CONTROL_RUNS
    assert "all versions" in report["baseline"]["description"]
    # A clean document can still be unusual; few are.
    novel = get(world.api, "/api/v1/drift/novel-runs", agent=CONTROL, limit=1000)["runs"]
    assert len(novel) <= 0.05 * CONTROL_RUNS, novel


def test_the_odd_inputs_are_the_most_novel(world: World) -> None:
    kinds = {s.trace_id: s.input.kind for s in world.production if s.agent == EXTRACTOR}
    top = get(world.api, "/api/v1/drift/novel-runs", agent=EXTRACTOR)
    assert len(top["runs"]) == 10
    assert all(kinds[r["trace_id"]] in ODD_KINDS for r in top["runs"])
    scores = [r["novelty"] for r in top["runs"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0

    every = get(world.api, "/api/v1/drift/novel-runs", agent=EXTRACTOR, limit=1000)["runs"]
    odd = {t for t, kind in kinds.items() if kind != CLEAN}
    assert {r["trace_id"] for r in every} == odd, "every odd input is novel, no clean one"
    image = next(r for r in every if kinds[r["trace_id"]] == documents.IMAGE_AS_PDF)
    assert {"doc.sniffed_type", "doc.type_mismatch", "doc.scanned"} <= set(image["novel_features"])
    assert image["profile"]["doc.sniffed_type"] == "image/png"
    assert image["profile"]["doc.pages"] == 1
    assert "profile.ms" not in image["profile"]
    assert image["version"] == "1.1" and image["start_time"].endswith("Z")


def test_not_enough_runs_is_said_so(world: World) -> None:
    report = get(world.api, "/api/v1/drift", agent=EXTRACTOR, since="2099-01-01T00:00:00Z")
    assert report["verdict"] == "not_enough_data"
    assert report["window"]["runs"] == 0 and "at least 50" in report["reason"]
    assert report["features"]
    assert all(f["severity"] == "not_enough_data" for f in report["features"])
    assert all(f["p_value"] is None for f in report["features"])
    small = get(
        world.api, "/api/v1/drift", agent=EXTRACTOR, baseline="env=staging,until=2000-01-01"
    )
    assert small["verdict"] == "not_enough_data" and small["baseline"]["runs"] == 0


def test_a_named_baseline_is_frozen(world: World) -> None:
    api = world.api
    created = api.post(
        "/api/v1/baselines",
        json={"name": "contracts-staging", "agent": EXTRACTOR, "cohort": "env=staging"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["cohort"], body["runs"]) == ("env=staging", STAGING_RUNS)
    assert {f["feature"] for f in body["features"]} >= {"text.language", "doc.scanned"}
    again = api.post("/api/v1/baselines", json={"name": "contracts-staging", "agent": EXTRACTOR})
    assert again.status_code == 409
    before = get(api, "/api/v1/drift", baseline="contracts-staging")
    assert before["agent"] == EXTRACTOR and before["baseline"]["source"] == "named"

    # More staging runs arrive, scans this time: the named baseline does not move.
    extra = [
        Sent(EXTRACTOR, "0.9", "staging", i)
        for i in inputs(world.folder, documents.SCANNED, range(7000, 7020))
    ]
    arrived(api, send(world.server, world.folder, "staging", extra))
    after = get(api, "/api/v1/drift", baseline="contracts-staging")
    assert after["baseline"]["runs"] == STAGING_RUNS
    assert after["features"] == before["features"]
    now = get(api, "/api/v1/drift", agent=EXTRACTOR, baseline="env=staging")
    assert now["baseline"]["source"] == "cohort" and now["baseline"]["runs"] == STAGING_RUNS + 20

    listed = get(api, "/api/v1/baselines", agent=EXTRACTOR)["baselines"]
    assert [(b["name"], b["runs"]) for b in listed] == [("contracts-staging", STAGING_RUNS)]
    detail = get(api, "/api/v1/baselines/contracts-staging")
    assert detail["features"] == body["features"]


def test_requests_that_cannot_be_answered(world: World) -> None:
    api = world.api
    assert api.get("/api/v1/drift").status_code == 400
    assert api.get("/api/v1/drift", params={"baseline": "nope"}).status_code == 404
    assert api.get("/api/v1/baselines/nope").status_code == 404
    bad = api.get("/api/v1/drift", params={"agent": EXTRACTOR, "baseline": "env=a,colour=b"})
    assert bad.status_code == 400 and "colour" in bad.json()["detail"]
    assert api.get("/api/v1/drift", params={"agent": EXTRACTOR, "since": "soon"}).status_code == 400
    empty = api.post(
        "/api/v1/baselines", json={"name": "empty", "agent": EXTRACTOR, "cohort": "env=nowhere"}
    )
    assert empty.status_code == 400 and "no complete runs" in empty.json()["detail"]
    named = api.post("/api/v1/baselines", json={"name": "no spaces", "agent": EXTRACTOR})
    assert named.status_code == 422


def test_openapi_describes_the_responses(world: World) -> None:
    spec = get(world.api, "/openapi.json")
    schemas = spec["components"]["schemas"]
    for path, model in [
        ("/api/v1/drift", "DriftReport"),
        ("/api/v1/drift/novel-runs", "NovelRuns"),
        ("/api/v1/baselines", "BaselineList"),
        ("/api/v1/baselines/{name}", "BaselineDetail"),
    ]:
        ok = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"].endswith(model)
    created = spec["paths"]["/api/v1/baselines"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("BaselineDetail")
    assert "severity" in schemas["FeatureReport"]["properties"]


def firstwatch(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as a user runs it, against the test server."""
    return subprocess.run(
        [sys.executable, "-m", "firstwatch", *args, "--server", world.server.url],
        env={**world.server.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_drift_and_baselines(world: World) -> None:
    result = firstwatch(world, "drift", "--agent", EXTRACTOR, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["verdict"] == "major" and len(body["novel_runs"]) == 5
    assert body["features"] == get(world.api, "/api/v1/drift", agent=EXTRACTOR)["features"]

    table = firstwatch(world, "drift", "--agent", CONTROL, "--novel", "0")
    assert table.returncode == 0, table.stderr
    assert "verdict: none" in table.stdout and "text.language" in table.stdout
    assert "Most novel runs" not in table.stdout
    major = firstwatch(world, "drift", "--agent", EXTRACTOR)
    assert "verdict: major" in major.stdout and "Most novel runs" in major.stdout
    assert "doc.sniffed_type=image/png" in major.stdout

    made = firstwatch(world, "baseline", "create", "invoices", "--agent", CONTROL, "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["runs"] == CONTROL_RUNS
    listed = firstwatch(world, "baseline", "list", "--agent", CONTROL, "--json")
    assert [b["name"] for b in json.loads(listed.stdout)["baselines"]] == ["invoices"]
    taken = firstwatch(world, "baseline", "create", "invoices", "--agent", CONTROL)
    assert taken.returncode == 1 and "409" in taken.stderr
