"""Running the Studio UI's dev server from source next to the API (``flowai-harness dev
--studio-dir``).

The UI source folder needs a ``package.json``; its ``dev`` script is run with ``bun`` in its own
process group, with ``FLOWAI_STUDIO_BACKEND_URL`` pointing at the API (a wildcard bind address
becomes ``127.0.0.1``) so it can proxy ``/api`` and the config script. A frontend that dies
within a quarter of a second is reported as a failure to start. Stopping sends SIGTERM to the
whole group, then SIGKILL after five seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Final

from flowai_harness.errors import ConfigurationError, RunError

__all__ = ["FrontendProcess", "backend_url"]

EARLY_EXIT_SECS: Final = 0.25
STOP_TIMEOUT_SECS: Final = 5.0
_WILDCARDS: Final = ("0.0.0.0", "::", "[::]", "")


def backend_url(host: str, port: int) -> str:
    """The URL the frontend uses to reach the API (wildcard hosts become ``127.0.0.1``)."""
    host = "127.0.0.1" if host.strip() in _WILDCARDS else host.strip()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


class FrontendProcess:
    """The UI dev server process.

    Args:
        studio_dir: The UI source folder (with ``package.json``).
        backend: The API URL (see :func:`backend_url`).
        host: Address the dev server listens on.
        port: Port the dev server listens on.

    Raises:
        ConfigurationError: ``bun`` is not on ``PATH`` or the folder has no ``package.json``.
    """

    def __init__(self, studio_dir: Path, *, backend: str, host: str, port: int) -> None:
        self.studio_dir = Path(studio_dir).resolve()
        if not (self.studio_dir / "package.json").is_file():
            raise ConfigurationError(
                f"--studio-dir {self.studio_dir} has no package.json; point it at the Studio "
                f"UI source folder"
            )
        bun = shutil.which("bun")
        if bun is None:
            raise ConfigurationError(
                "running the Studio UI from source needs `bun` on PATH "
                "(https://bun.sh), or drop --studio-dir to use the packaged UI"
            )
        self.command = [bun, "run", "dev", "--host", host, "--port", str(port)]
        self.env = {
            **os.environ,
            "FLOWAI_STUDIO_BACKEND_URL": backend,
            "FLOWAI_STUDIO_FRONTEND_HOST": host,
            "FLOWAI_STUDIO_FRONTEND_PORT": str(port),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the dev server and make sure it survives its first moments.

        Raises:
            RunError: It could not be started or exited within :data:`EARLY_EXIT_SECS`.
        """
        try:
            self.process = subprocess.Popen(
                self.command, cwd=self.studio_dir, env=self.env, start_new_session=True
            )
        except OSError as exc:
            raise RunError(f"could not start the Studio UI dev server: {exc}") from exc
        deadline = time.monotonic() + EARLY_EXIT_SECS
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RunError(
                    f"the Studio UI dev server (`bun run dev` in {self.studio_dir}) exited at "
                    f"once with code {code}"
                )
            time.sleep(0.02)

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_SECS) -> int | None:
        """Stop the process group: SIGTERM, then SIGKILL after ``timeout`` seconds.

        Returns:
            The exit code, or ``None`` when it was never started.
        """
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait()
        return process.returncode

    def _signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
