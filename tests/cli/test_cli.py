"""Tests for the ``flowai-harness`` command group (src/flowai_harness/cli/app.py) and its
entry point ``main`` (src/flowai_harness/cli/__init__.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from flowai_harness._version import installed_version
from flowai_harness.cli import main
from flowai_harness.cli.app import GlobalOptions, cli, global_options

VERSION_LINE = f"flowai-harness {installed_version()}\n"


@pytest.fixture
def captured_options() -> list[GlobalOptions]:
    """Register a probe command that records ``ctx.obj``; unregister it afterwards."""
    seen: list[GlobalOptions] = []

    @click.command(name="probe-options")
    @global_options
    @click.pass_context
    def probe(ctx: click.Context) -> None:
        seen.append(ctx.obj)

    cli.add_command(probe)
    yield seen
    cli.commands.pop("probe-options")


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, list(args), prog_name="flowai-harness")


def test_version_flag_prints_program_name_and_installed_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == VERSION_LINE


def test_version_flag_wins_over_invalid_later_arguments() -> None:
    result = invoke("--version", "--output", "xml")
    assert result.exit_code == 0
    assert result.output == VERSION_LINE


def test_version_command_prints_version_in_text_mode() -> None:
    result = invoke("version")
    assert result.exit_code == 0
    assert result.output == VERSION_LINE


@pytest.mark.parametrize("output", ["json", "ndjson"])
def test_version_command_prints_one_json_object_in_machine_modes(output: str) -> None:
    result = invoke("--output", output, "version")
    assert result.exit_code == 0
    assert result.output.count("\n") == 1
    assert json.loads(result.output) == {"name": "flowai-harness", "version": installed_version()}


def test_help_lists_commands_and_global_options() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Commands:" in result.output
    assert "version" in result.output
    for flag in (
        "--version",
        "--data-environment",
        "--output",
        "--quiet",
        "--verbose",
        "--log-level",
        "--no-color",
    ):
        assert flag in result.output


def test_short_help_flag_is_accepted() -> None:
    result = invoke("-h")
    assert result.exit_code == 0
    assert "Usage: flowai-harness" in result.output


def test_unknown_command_is_a_usage_error_with_exit_code_2() -> None:
    result = invoke("frobnicate")
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output


def test_unknown_option_is_a_usage_error_with_exit_code_2() -> None:
    result = invoke("--frobnicate", "version")
    assert result.exit_code == 2
    assert "No such option '--frobnicate'" in result.output


def test_invalid_output_format_is_rejected_with_the_accepted_choices() -> None:
    result = invoke("--output", "xml", "version")
    assert result.exit_code == 2
    assert "'xml' is not one of 'text', 'json', 'ndjson'" in result.output


def test_invalid_log_level_is_rejected_with_the_accepted_choices() -> None:
    result = invoke("--log-level", "loud", "version")
    assert result.exit_code == 2
    assert "'loud' is not one of 'trace', 'debug', 'info', 'warn', 'error'" in result.output


def test_quiet_and_verbose_together_are_a_usage_error() -> None:
    result = invoke("--quiet", "--verbose", "version")
    assert result.exit_code == 2
    assert "--quiet and --verbose are mutually exclusive" in result.output


def test_quiet_before_and_verbose_after_the_command_are_still_exclusive() -> None:
    result = invoke("--quiet", "version", "--verbose")
    assert result.exit_code == 2
    assert "--quiet and --verbose are mutually exclusive" in result.output


def test_missing_data_environment_file_is_a_usage_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = invoke("--data-environment", str(missing), "version")
    assert result.exit_code == 2
    assert "nope.json" in result.output
    assert "does not exist" in result.output


def test_defaults_are_stored_on_the_context_object(
    captured_options: list[GlobalOptions],
) -> None:
    result = invoke("probe-options", env={"NO_COLOR": ""})
    assert result.exit_code == 0, result.output
    assert captured_options == [GlobalOptions()]
    assert captured_options[0].effective_log_level == "info"


def test_global_options_before_the_command_are_stored_on_the_context_object(
    captured_options: list[GlobalOptions], tmp_path: Path
) -> None:
    env_file = tmp_path / "env.json"
    env_file.write_text("{}")
    result = invoke(
        "--data-environment",
        str(env_file),
        "--output",
        "ndjson",
        "--verbose",
        "--log-level",
        "trace",
        "--no-color",
        "probe-options",
    )
    assert result.exit_code == 0, result.output
    assert captured_options == [
        GlobalOptions(
            data_environment=env_file,
            output="ndjson",
            verbose=True,
            log_level="trace",
            color=False,
        )
    ]
    assert captured_options[0].effective_log_level == "trace"


def test_global_options_after_the_command_are_accepted_and_win(
    captured_options: list[GlobalOptions],
) -> None:
    result = invoke("--output", "json", "probe-options", "--output", "text", "--quiet")
    assert result.exit_code == 0, result.output
    assert captured_options == [GlobalOptions(output="text", quiet=True)]


def test_quiet_lowers_the_effective_log_level_to_error() -> None:
    assert GlobalOptions(quiet=True).effective_log_level == "error"


def test_verbose_raises_the_effective_log_level_to_debug() -> None:
    assert GlobalOptions(verbose=True).effective_log_level == "debug"


def test_explicit_log_level_overrides_quiet_and_verbose() -> None:
    assert GlobalOptions(quiet=True, log_level="warn").effective_log_level == "warn"
    assert GlobalOptions(verbose=True, log_level="info").effective_log_level == "info"


def test_no_color_environment_variable_disables_color(
    captured_options: list[GlobalOptions],
) -> None:
    result = invoke("probe-options", env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert captured_options[0].color is False


def test_main_returns_zero_after_printing_the_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["flowai-harness", "--version"]) == 0
    assert capsys.readouterr().out == VERSION_LINE


def test_main_returns_2_on_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flowai-harness", "--output", "xml"]) == 2
    assert "Invalid value for '--output'" in capsys.readouterr().err


def test_main_reads_sys_argv_with_the_program_name_first(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/flowai-harness", "version"])
    assert main() == 0
    assert capsys.readouterr().out == VERSION_LINE


def test_console_script_prints_the_version() -> None:
    script = Path(sys.executable).with_name("flowai-harness")
    completed = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == VERSION_LINE


def test_importing_the_cli_does_not_import_rich() -> None:
    code = (
        "import sys, flowai_harness.cli; print(any(m.split('.')[0] == 'rich' for m in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == "False"
