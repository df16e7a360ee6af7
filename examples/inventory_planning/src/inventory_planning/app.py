"""The Studio app: ``flowai-harness dev --app inventory_planning.app:app``.

``app`` is a zero-argument function, so Studio reads the working directory
(``INVENTORY_PLANNING_DIR``, default ``.inventory``) when it starts rather than at import. The
workspace gets the example's data environment, so Studio's Connect screen browses the same
catalog, knowledge documents and inventory database the agents use.
"""

from __future__ import annotations

from flowai_harness import FlowAIApp, Runtime, define_app
from inventory_planning.agents import build_spec
from inventory_planning.planning_platform import PlanningPlatform
from inventory_planning.runtime import build_runtime
from inventory_planning.workdir import WorkDir

__all__ = ["APP_NAME", "app", "create_app"]

APP_NAME = "inventory-planning"


def create_app(
    workdir: WorkDir,
    *,
    platform: PlanningPlatform | None = None,
    interpreter: str | None = None,
) -> FlowAIApp:
    """Declare the Studio app over ``workdir``.

    Args:
        workdir: A working directory prepared with the README's commands.
        platform: Where approved plans land (the caller closes it); ``None`` opens
            ``workdir.planning_db`` when the runtime is first needed, for the process's life.
        interpreter: ``offline`` or ``anthropic``; ``None`` picks by ``ANTHROPIC_API_KEY``.

    Raises:
        FileNotFoundError: ``workdir`` has no data environment file (not seeded yet).
    """
    if not workdir.environment_file.is_file():
        raise FileNotFoundError(
            f"{workdir.environment_file} does not exist; run "
            f"'python -m inventory_planning.seed_db --dir {workdir.root}' and the data "
            "commands in the README first"
        )

    def runtime_factory() -> Runtime:
        return build_runtime(workdir, platform=platform, interpreter=interpreter)

    return define_app(
        name=APP_NAME,
        description="Inventory scenario planning on a profiled, searchable data environment.",
        metadata={"example": "inventory_planning", "workdir": str(workdir.root)},
        runtime_spec=build_spec(),
        runtime_factory=runtime_factory,
        data_environment=workdir.data_environment(),
    )


def app() -> FlowAIApp:
    """The app over the default working directory (what ``--app ...:app`` loads)."""
    return create_app(WorkDir.at())
