"""Finding and reading the files of a knowledge folder, without ever leaving it.

The folder is walked recursively in sorted path order. Every candidate is resolved (symlinks and
``..`` included) and must stay inside the folder (hidden files and folders, whose name starts
with a dot, are left out): a link pointing elsewhere is refused and
reported, never read. Symlinked directories inside the folder are not walked twice (their files
are reached through their real path). Files are opened without following a link that appeared
after the check, and only regular files are read. A file with a NUL byte in its first 8 KiB is
binary; one that does not decode as UTF-8 is not text; both are skipped and reported, as are
files that cannot be read and files over :data:`MAX_DOCUMENT_BYTES`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from flowai_harness.errors import SpecValueError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "FileProblem",
    "FolderScan",
    "KnowledgeFile",
    "check_extensions",
    "read_text_file",
    "resolve_inside",
    "scan_folder",
]

#: Larger files are reported and skipped (one document per file, kept whole in KV).
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
_BINARY_PROBE = 8192

ProblemKind = Literal["outside_folder", "unreadable", "binary", "not_utf8", "too_large"]


@dataclass(frozen=True, slots=True)
class KnowledgeFile:
    """A file to ingest: its path relative to the folder (POSIX form) and its real path."""

    relative: str
    path: Path

    @property
    def name(self) -> str:
        """The file name (the document's name)."""
        return PurePosixPath(self.relative).name


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file that was not ingested, and why."""

    relative: str
    kind: ProblemKind
    message: str

    @property
    def is_error(self) -> bool:
        """Unreadable, oversized or outside-the-folder files are errors; binary and non-UTF-8
        files are only skipped."""
        return self.kind not in ("binary", "not_utf8")

    def to_dict(self) -> dict[str, str]:
        """``{"path", "reason", "error"}`` (``reason`` is the problem kind)."""
        return {"path": self.relative, "reason": self.kind, "error": self.message}


@dataclass(slots=True)
class FolderScan:
    """The files found under a folder, and the entries refused while walking it."""

    root: Path
    files: list[KnowledgeFile]
    refused: list[FileProblem]


def check_extensions(extensions: Sequence[str]) -> tuple[str, ...]:
    """Validate ``--ext`` values: non-blank, no leading dot, no path separator.

    Raises:
        SpecValueError: A value is blank, starts with a dot or contains ``/``.
    """
    checked: list[str] = []
    for value in extensions:
        if not value.strip():
            raise SpecValueError("--ext values must not be blank")
        if value.startswith("."):
            raise SpecValueError(
                f"--ext takes an extension without its dot (for example md); got {value!r}"
            )
        if "/" in value or os.sep in value:
            raise SpecValueError(f"--ext must be a file extension; got {value!r}")
        checked.append(value)
    return tuple(dict.fromkeys(checked))


def resolve_inside(root: Path, relative: str) -> Path:
    """Resolve ``relative`` under ``root`` (links followed) and check it stays inside.

    Args:
        root: The folder, already resolved.
        relative: A path relative to it (may contain ``..`` or lead through links).

    Returns:
        The resolved path.

    Raises:
        SpecValueError: The path resolves outside ``root`` (the message does not repeat it).
    """
    resolved = (root / relative).resolve(strict=False)
    if resolved != root and not resolved.is_relative_to(root):
        raise SpecValueError(f"resolves outside the folder {root}; it is not read")
    return resolved


def _matches(name: str, extensions: Sequence[str]) -> bool:
    if not extensions:
        return True
    suffix = name.rpartition(".")[2] if "." in name.lstrip(".") else ""
    return suffix in extensions


def scan_folder(local_dir: Path, extensions: Sequence[str] = ()) -> FolderScan:
    """Walk ``local_dir`` and list the files to ingest, in sorted relative-path order.

    Args:
        local_dir: The knowledge folder.
        extensions: Extensions to keep (exact, without the dot); all files when empty.

    Raises:
        SpecValueError: The folder does not exist or is not a directory.
    """
    if not local_dir.exists():
        raise SpecValueError(f"knowledge folder {local_dir} does not exist")
    if not local_dir.is_dir():
        raise SpecValueError(f"knowledge folder {local_dir} is not a directory")
    root = local_dir.resolve(strict=True)
    files: list[KnowledgeFile] = []
    refused: list[FileProblem] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory)
        for name in list(dirnames):
            path = base / name
            if name.startswith("."):
                dirnames.remove(name)
                continue
            if path.is_symlink():
                dirnames.remove(name)
                relative = path.relative_to(root).as_posix()
                try:
                    resolve_inside(root, relative)
                except SpecValueError as exc:
                    refused.append(FileProblem(relative, "outside_folder", str(exc)))
        dirnames.sort()
        for name in filenames:
            if name.startswith(".") or not _matches(name, extensions):
                continue
            relative = (base / name).relative_to(root).as_posix()
            try:
                real = resolve_inside(root, relative)
            except SpecValueError as exc:
                refused.append(FileProblem(relative, "outside_folder", str(exc)))
                continue
            files.append(KnowledgeFile(relative, real))
    files.sort(key=lambda f: f.relative)
    refused.sort(key=lambda p: p.relative)
    return FolderScan(root, files, refused)


def read_text_file(file: KnowledgeFile, root: Path) -> tuple[bytes, str] | FileProblem:
    """Read a file as UTF-8 text; return ``(raw bytes, text)`` or the problem.

    The path is checked again right before opening, and opened without following links, so a
    file swapped for a link after the walk is refused rather than followed.
    """
    try:
        real = resolve_inside(root, file.relative)
    except SpecValueError as exc:
        return FileProblem(file.relative, "outside_folder", str(exc))
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        handle = os.open(real, flags)
    except OSError as exc:
        return FileProblem(file.relative, "unreadable", f"cannot read: {exc.strerror or exc}")
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            return FileProblem(file.relative, "unreadable", "not a regular file")
        if info.st_size > MAX_DOCUMENT_BYTES:
            return FileProblem(
                file.relative,
                "too_large",
                f"{info.st_size} bytes is over the {MAX_DOCUMENT_BYTES} byte limit per document",
            )
        with os.fdopen(handle, "rb", closefd=False) as stream:
            raw = stream.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        return FileProblem(file.relative, "unreadable", f"cannot read: {exc.strerror or exc}")
    finally:
        os.close(handle)
    if len(raw) > MAX_DOCUMENT_BYTES:
        return FileProblem(file.relative, "too_large", "file grew past the per-document limit")
    if b"\x00" in raw[:_BINARY_PROBE]:
        return FileProblem(file.relative, "binary", "binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FileProblem(file.relative, "not_utf8", f"not UTF-8 text (byte {exc.start})")
    return raw, text.removeprefix("\ufeff")
