"""Docs stay true to the code: every setting and CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from firstwatch.cli.main import app
from firstwatch.settings import Settings, settings_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_settings_page_is_generated_from_the_declarations() -> None:
    assert (ROOT / "docs" / "settings.md").read_text() == settings_markdown(), (
        "docs/settings.md is stale: run `firstwatch db settings-doc > docs/settings.md`"
    )


def test_every_setting_has_help_and_an_env_var() -> None:
    for setting in Settings.declared():
        assert setting.help.endswith("."), setting.name
        assert setting.env == "FIRSTWATCH_" + setting.name.upper()


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    runner = CliRunner()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert {"serve", "keys", "runs", "agents"} <= set(commands)
    for name in commands:
        assert name and name in result.output
        assert f"firstwatch {name}" in readme or name in ("db",), f"README does not mention {name}"
        sub = runner.invoke(app, [name, "--help"])
        assert sub.exit_code == 0, sub.output


def test_bad_environment_value_falls_back_to_the_default() -> None:
    settings = Settings.load(environ={"FIRSTWATCH_HTTP_PORT": "not-a-port"})
    assert settings.http_port == 4318
    assert Settings.load(environ={"FIRSTWATCH_HTTP_PORT": "9999"}).http_port == 9999
    assert (
        Settings.load({"http_port": 1234}, environ={"FIRSTWATCH_HTTP_PORT": "9999"}).http_port
        == 1234
    )


def test_keys_required_off_loopback_whatever_the_setting() -> None:
    assert not Settings.load(environ={}).keys_required
    assert Settings.load({"host": "0.0.0.0"}, environ={}).keys_required
    assert Settings.load({"host": "0.0.0.0", "require_keys": False}, environ={}).keys_required
    assert Settings.load({"require_keys": True}, environ={}).keys_required
