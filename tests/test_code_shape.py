"""The size limits of the source tree: no module over 600 lines, no function or method over 80
lines (counted from its ``def`` line to its last line, decorators excluded)."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1] / "src" / "flowai_harness"

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
#: the limit of the code after the docstring of a function listed below
MAX_CODE_LINES_OF_A_WIDE_ENTRY_POINT = 60

# Public entry points whose signature and the documentation of each parameter alone come near
# the function limit (create_runtime: 20 keyword parameters, about 70 lines before its first
# statement). For these only the code after the docstring counts, against a tighter limit.
WIDE_ENTRY_POINTS: frozenset[str] = frozenset({"assemble.py:create_runtime"})


def _sources() -> list[Path]:
    found = sorted(SOURCE_ROOT.rglob("*.py"))
    assert found, f"no Python source under {SOURCE_ROOT}"
    return found


def _relative(path: Path) -> str:
    return path.relative_to(SOURCE_ROOT).as_posix()


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _function_lengths(source: str) -> list[tuple[str, int, int, int]]:
    """Every function or method (nested ones included) in ``source``, as ``(name, def line,
    length from def to last line, length of the code after its docstring)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno if node.end_lineno is not None else node.lineno
            first = node.body[0]
            has_doc = (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            )
            code_start = (first.end_lineno or first.lineno) if has_doc else node.lineno
            found.append((node.name, node.lineno, end - node.lineno + 1, end - code_start))
    return sorted(found, key=lambda entry: entry[1])


def _long_functions(source: str, limit: int) -> list[tuple[str, int, int]]:
    """The functions of ``source`` longer than ``limit`` lines, as ``(name, line, length)``."""
    return [
        (name, line, length)
        for name, line, length, _code in _function_lengths(source)
        if length > limit
    ]


def test_the_function_measure_counts_from_def_to_last_line_nested_ones_too() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(4))
    source = (
        f"@decorator\ndef five_lines():\n{body}\n\n"
        "def short():\n    pass\n\n"
        "class Holder:\n    async def method(self):\n        def inner():\n"
        "            a = 1\n            b = 2\n            c = 3\n            return a + b + c\n"
        "        return inner\n"
    )
    assert _long_functions(source, 4) == [("five_lines", 2, 5), ("method", 12, 7), ("inner", 13, 5)]
    assert _long_functions(source, 5) == [("method", 12, 7)]


def test_the_code_after_a_docstring_is_measured_apart() -> None:
    source = (
        'def documented(\n    a,\n):\n    """Doc.\n\n    More.\n    """\n    x = a\n    return x\n'
    )
    assert _function_lengths(source) == [("documented", 1, 9, 2)]
    assert _function_lengths("def bare():\n    return 1\n") == [("bare", 1, 2, 1)]


def test_no_module_is_over_the_line_limit() -> None:
    too_long = [
        f"{_relative(path)} ({_line_count(path)} lines)"
        for path in _sources()
        if _line_count(path) > MAX_MODULE_LINES
    ]
    assert too_long == [], f"modules over {MAX_MODULE_LINES} lines; split them: {too_long}"


def test_no_function_is_over_the_line_limit() -> None:
    too_long = []
    for path in _sources():
        for name, line, length, code in _function_lengths(path.read_text(encoding="utf-8")):
            where = f"{_relative(path)}:{name}"
            if where in WIDE_ENTRY_POINTS:
                if code > MAX_CODE_LINES_OF_A_WIDE_ENTRY_POINT:
                    too_long.append(f"{_relative(path)}:{line} {name} ({code} lines of code)")
            elif length > MAX_FUNCTION_LINES:
                too_long.append(f"{_relative(path)}:{line} {name} ({length} lines)")
    assert too_long == [], f"functions over {MAX_FUNCTION_LINES} lines; split them: {too_long}"


def test_every_wide_entry_point_exists() -> None:
    found = {
        f"{_relative(path)}:{name}"
        for path in _sources()
        for name, *_ in _function_lengths(path.read_text(encoding="utf-8"))
    }
    assert found >= WIDE_ENTRY_POINTS, sorted(WIDE_ENTRY_POINTS - found)


def test_studio_route_handlers_are_module_level_functions() -> None:
    # A handler nested in router() cannot be imported or tested alone.
    routes = sorted((SOURCE_ROOT / "studio" / "routes").glob("*.py"))
    nested = []
    for path in routes:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name == "router":
                nested += [
                    f"{_relative(path)}:{inner.lineno} {inner.name}"
                    for inner in ast.walk(node)
                    if inner is not node
                    and isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                ]
    assert len(routes) > 5
    assert nested == [], f"functions defined inside router(): {nested}"
