"""The reference pages cannot drift from the code: every event type and every CLI command and
option the code has is documented, and nothing documented is gone from the code."""

from __future__ import annotations

import importlib
import pkgutil
import re
import typing
from pathlib import Path

import click

import flowai_harness
from flowai_harness.events import RuntimeEvent

REPO = Path(__file__).resolve().parents[2]
EVENTS_PAGE = REPO / "docs" / "reference" / "events.md"
CLI_PAGE = REPO / "docs" / "reference" / "cli.md"


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _event_types_in_code() -> set[str]:
    """The ``type`` of every RuntimeEvent class, after importing every module that may define
    one (the engine's and the providers' too)."""
    for package in ("flowai_harness.engine", "flowai_harness.providers"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            importlib.import_module(info.name)
    return {cls.type for cls in _subclasses(RuntimeEvent)}


def _sections(page: Path, level: str) -> dict[str, str]:
    """Map each ``<level> `name``` heading of ``page`` to the text under it."""
    text = page.read_text()
    parts = re.split(rf"^{level} `([^`]+)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_event_type_in_the_code_has_a_section_and_no_section_is_stale() -> None:
    in_code = _event_types_in_code()
    documented = set(_sections(EVENTS_PAGE, "###"))
    assert in_code, "no event classes found"
    assert sorted(in_code - documented) == [], "event types missing from docs/reference/events.md"
    assert sorted(documented - in_code) == [], "documented event types the code does not have"


def test_every_eval_stream_type_is_listed() -> None:
    from flowai_harness.specs.evals import EvalEventType

    text = EVENTS_PAGE.read_text()
    missing = [name for name in typing.get_args(EvalEventType) if f"| `{name}` |" not in text]
    assert missing == []


def _commands() -> dict[str, click.Command]:
    """Every command of the CLI by its full name (``flowai-harness data profile table``)."""
    from flowai_harness.cli.app import cli
    from flowai_harness.cli.commands import run_command_line  # registers the commands

    assert run_command_line
    found: dict[str, click.Command] = {}

    def walk(command: click.Command, name: str) -> None:
        found[name] = command
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                walk(sub, f"{name} {sub_name}")

    walk(cli, "flowai-harness")
    return found


def test_every_cli_command_has_a_section_and_no_section_is_stale() -> None:
    documented = set(_sections(CLI_PAGE, "##"))
    in_code = set(_commands())
    assert sorted(in_code - documented) == [], "commands missing from docs/reference/cli.md"
    assert sorted(documented - in_code) == [], "documented commands the CLI does not have"


def _option_names(command: click.Command) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Argument):
            names.add(param.human_readable_name)
        else:
            names.update(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
    return names


def test_every_option_and_argument_is_documented_under_its_command() -> None:
    sections = _sections(CLI_PAGE, "##")
    commands = _commands()
    # The global options are accepted by every command; they are documented once, at the root.
    global_options = _option_names(commands["flowai-harness"]) - {"--version"}
    missing: list[str] = []
    stale: list[str] = []
    for name, command in commands.items():
        section = sections[name]
        names = _option_names(command)
        if name != "flowai-harness":
            names -= global_options
        documented = set(re.findall(r"^\| `(--[a-z0-9-]+|[A-Z][A-Z:_]+)", section, flags=re.M))
        missing += [f"{name}: {option}" for option in sorted(names - documented - {"--help"})]
        stale += [f"{name}: {option}" for option in sorted(documented - names)]
    assert missing == []
    assert stale == []


def test_the_cli_page_shows_each_commands_first_help_line() -> None:
    sections = _sections(CLI_PAGE, "##")
    for name, command in _commands().items():
        first_line = (command.help or "").strip().splitlines()[0]
        assert first_line in sections[name], f"{name}: help text changed: {first_line!r}"


def _api_directives() -> dict[str, list[str] | None]:
    """Each ``::: path`` of the API pages with its ``members:`` list (``None``: all members)."""
    found: dict[str, list[str] | None] = {}
    for page in sorted((REPO / "docs" / "reference" / "api").glob("*.md")):
        text = page.read_text()
        for match in re.finditer(r"^::: (\S+)\n((?:[ ]{4}.*\n)*)", text, flags=re.M):
            members = re.search(r"members: \[([^\]]*)\]", match[2])
            names = None if members is None else [m.strip() for m in members[1].split(",")]
            found[match[1]] = names
    return found


def _public_names(path: str) -> list[str]:
    """The ``__all__`` of the module at ``path`` (empty when ``path`` is not a module)."""
    try:
        module = importlib.import_module(path)
    except ImportError:
        return []
    return list(getattr(module, "__all__", []))


def test_the_api_pages_document_every_public_name() -> None:
    directives = _api_directives()
    undocumented = []
    for name, module_name in flowai_harness._EXPORTS.items():
        covered = any(
            path.endswith(f".{name}")
            or (members is not None and name in members)
            or (members is None and name in _public_names(path))
            for path, members in directives.items()
        )
        if not covered:
            undocumented.append(f"{module_name}.{name}")
    assert undocumented == []


def test_the_getting_started_page_lists_every_extra() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"]) - {"dev", "all"}
    install = (REPO / "docs" / "getting-started.md").read_text().split("## Install", 1)[1]
    install = install.split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", install, flags=re.M))
    assert sorted(extras - listed) == [], "extras missing from docs/getting-started.md"
    assert sorted(listed - extras) == [], "docs/getting-started.md lists extras pyproject lacks"


def test_the_runtime_page_lists_every_create_runtime_argument() -> None:
    import inspect

    from flowai_harness import create_runtime

    page = (REPO / "docs" / "concepts" / "runtime-and-events.md").read_text()
    table = page.split("What `create_runtime` takes besides the spec:", 1)[1].split("\n\n", 2)[1]
    listed = set(re.findall(r"`([a-z_]+)=`", table))
    arguments = set(inspect.signature(create_runtime).parameters) - {"spec"}
    assert sorted(arguments - listed) == [], "create_runtime arguments missing from the page"
    assert sorted(listed - arguments) == [], "the page lists arguments create_runtime lacks"


def test_the_live_providers_guide_lists_every_provider_setting() -> None:
    from flowai_harness.providers.factory import _CONFIG_KEYS

    page = (REPO / "docs" / "guides" / "live-providers.md").read_text()
    table = page.split("## Settings", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([a-zA-Z]+)`", "\n".join(re.findall(r"^\| [^|]+\|", table, re.M))))
    assert sorted(set(_CONFIG_KEYS) - listed) == [], "provider settings missing from the guide"


def test_the_data_environment_guide_lists_every_kind_of_every_section() -> None:
    from flowai_harness.specs import data_environment as env

    page = (REPO / "docs" / "guides" / "data-environment.md").read_text()
    for section, union in (
        ("kv", env.KvDescriptor),
        ("catalog", env.CatalogDescriptor),
        ("target_database", env.TargetDatabaseDescriptor),
    ):
        row = re.search(rf"^\| `{section}` \| ([^|]+) \|", page, flags=re.M)
        assert row is not None, f"no row for {section}"
        classes = typing.get_args(typing.get_args(union)[0])  # Annotated[A | B, ...]
        kinds = {cls.model_fields["kind"].default for cls in classes}
        assert set(re.findall(r"`([a-z]+)`", row[1])) == kinds, section


def test_docstring_rest_markup_becomes_markdown_on_the_api_pages() -> None:
    import importlib.util

    path = REPO / "docs" / "_ext" / "sphinx_roles.py"
    spec = importlib.util.spec_from_file_location("sphinx_roles", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    convert = module.plain_markdown
    assert convert("see :class:`~flowai_harness.handle.Runtime`") == "see `Runtime`"
    assert convert(":meth:`Runtime.query` and ``x``") == "`Runtime.query` and `x`"
    assert convert("Wire shapes::\n\n    {...}\n") == "Wire shapes:\n\n    {...}\n"
    assert convert("a::b and `kept`") == "a::b and `kept`"
