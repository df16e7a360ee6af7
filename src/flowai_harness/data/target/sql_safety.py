"""Read-only SQL for ``execute_query``: classify on the parsed tree, then wrap with a limit.

The rules, in order:

1. parse with the target's dialect (parse error -> ``SQL parse error: …``); more than one
   statement -> ``Multiple statements not allowed``; an empty statement is refused; the length
   limit applies to the text the caller wrote, not to the rewritten statement;
2. a recursive read-only check over CTEs, subqueries and function arguments: no DML or DDL, no
   ``SELECT INTO``, no locking clause, no system catalog (PostgreSQL ``pg_*`` relations, also
   when written unqualified), and no function call outside the allow-list of
   :mod:`flowai_harness.data.target.sql_functions` plus the target's ``allowed_functions``;
3. the statement must be a wrappable ``SELECT`` (a select, a nested query or a set operation of
   selects; every CTE body too);
4. the statement becomes ``SELECT * FROM (<sql>) AS agent_fw_limited LIMIT <placeholder>`` bound
   to ``L + 1`` so truncation can be reported, and the rewrite is checked again.

What runs on the database is the SQL regenerated from the checked tree (comments dropped), not
the text the model wrote: the statement executed is exactly the one that was checked, so a
difference between sqlglot's parser and the database's cannot smuggle a second statement in.
Function calls are checked on that regenerated text, token by token, so a call sqlglot
represents in an unusual way is still seen under the name the database will resolve. The
database adds its own guards (read-only transaction or connection, statement timeout).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flowai_harness.data.target.sql_functions import (
    SYNTAX_WORDS,
    is_function_allowed,
    never_allowed,
)
from flowai_harness.errors import MissingDependencyError, SqlRejectedError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_SQL_CHARS",
    "Dialect",
    "PreparedQuery",
    "check_read_only",
    "guard_wide_values",
    "prepare_query",
]

Dialect = Literal["sqlite", "postgres"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: Longer statements are refused before parsing (a guard against parser resource abuse).
MAX_SQL_CHARS = 100_000
WRAPPER_ALIAS = "agent_fw_limited"
GUARD_ALIAS = "agent_fw_guarded"
#: Suffix of the extra column that carries the cut form of an oversized value.
CUT_SUFFIX = "__agent_fw_cut"

_WRITE_KEYWORDS = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "UPSERT",
        "REPLACE",
        "CREATE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "RENAME",
        "ATTACH",
        "DETACH",
        "PRAGMA",
        "VACUUM",
        "REINDEX",
        "ANALYZE",
        "ANALYSE",
        "CLUSTER",
        "GRANT",
        "REVOKE",
        "COPY",
        "CALL",
        "DO",
        "LOCK",
        "SET",
        "RESET",
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT",
        "RELEASE",
        "COMMENT",
        "LISTEN",
        "NOTIFY",
        "UNLISTEN",
        "DISCARD",
        "LOAD",
        "PREPARE",
        "EXECUTE",
        "EXEC",
        "DEALLOCATE",
        "DECLARE",
        "FETCH",
        "MOVE",
        "CLOSE",
        "CHECKPOINT",
        "REFRESH",
        "SECURITY",
        "IMPORT",
        "REASSIGN",
        "USE",
        "KILL",
        "CACHE",
        "UNCACHE",
    }
)
_UNWRAPPABLE_KEYWORDS = frozenset({"EXPLAIN", "SHOW", "VALUES", "TABLE", "DESCRIBE", "DESC"})
_UNWRAPPABLE_MESSAGE = (
    "Only safe SELECT queries can be automatically limited; write a single SELECT or WITH … "
    "SELECT query"
)


@dataclass(frozen=True, slots=True)
class PreparedQuery:
    """A checked statement ready to run: wrapped SQL, bound parameters and the row limit."""

    sql: str
    params: tuple[Any, ...]
    limit: int


def _sqlglot() -> Any:
    try:
        import sqlglot
    except ImportError as exc:
        raise MissingDependencyError(
            "execute_query needs sqlglot; install it with: pip install 'flowai-harness[sql]'"
        ) from exc
    return sqlglot


def _first_line(message: str) -> str:
    return " ".join(message.strip().splitlines()[:1])[:300]


def _tokenize(sql: str, dialect: Dialect) -> list[Any]:
    sqlglot = _sqlglot()
    try:
        return list(sqlglot.Dialect.get_or_raise(dialect).tokenize(sql))
    except sqlglot.errors.SqlglotError as exc:
        raise SqlRejectedError(f"SQL parse error: {_first_line(str(exc))}") from None


def _statement_tokens(sql: str, dialect: Dialect) -> list[list[Any]]:
    """Split the token stream into statements at top-level semicolons (strings and comments are
    already single tokens), dropping empty statements."""
    from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

    statements: list[list[Any]] = [[]]
    for token in _tokenize(sql, dialect):
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [statement for statement in statements if statement]


def _check_leading_keyword(tokens: Sequence[Any]) -> None:
    keyword = str(tokens[0].text).upper()
    if keyword in ("SELECT", "WITH", "("):
        return
    if keyword in _UNWRAPPABLE_KEYWORDS:
        raise SqlRejectedError(f"{_UNWRAPPABLE_MESSAGE} (got a {keyword} statement)")
    if keyword in _WRITE_KEYWORDS:
        raise SqlRejectedError(
            f"Only read-only SELECT/WITH queries are allowed; {keyword} statements are refused"
        )
    raise SqlRejectedError(
        f"Only read-only SELECT/WITH queries are allowed; the statement starts with {keyword!r}"
    )


def _statement_types(exp: Any) -> tuple[Any, ...]:
    return (
        exp.DML,
        exp.DDL,
        exp.Alter,
        exp.TruncateTable,
        exp.Command,
        exp.Pragma,
        exp.Attach,
        exp.Detach,
        exp.Transaction,
        exp.Commit,
        exp.Rollback,
        exp.Set,
        exp.Use,
        exp.Grant,
        exp.Revoke,
        exp.Analyze,
        exp.Kill,
        exp.LoadData,
        exp.Cache,
        exp.Uncache,
        exp.Refresh,
        exp.Declare,
        exp.Execute,
        exp.Show,
        exp.Describe,
        exp.Comment,
    )


def _denied_node(node: Any, exp: Any) -> str | None:
    """Why ``node`` makes the statement not read-only, or ``None``."""
    if isinstance(node, _statement_types(exp)):
        label = node.key.upper() if not isinstance(node, exp.Command) else str(node.this).upper()
        return f"Only read-only SELECT/WITH queries are allowed; found {label}"
    if isinstance(node, exp.Into) or (
        isinstance(node, exp.Select) and node.args.get("into") is not None
    ):
        return "SELECT INTO is not allowed: execute_query is read-only"
    if isinstance(node, exp.Lock) or (isinstance(node, exp.Select) and node.args.get("locks")):
        return (
            "Locking clauses (FOR UPDATE / FOR SHARE) are not allowed: execute_query is read-only"
        )
    if isinstance(node, exp.Table):
        return _system_relation(node, exp)
    return None


def _system_relation(table: Any, exp: Any) -> str | None:
    """Refuse PostgreSQL system catalogs and views: every relation of ``pg_catalog`` (and of the
    other ``pg_*`` schemas) is named ``pg_*``, and an unqualified name resolves to
    ``pg_catalog`` first, so the name alone decides. The rule holds on SQLite too, where such
    names are never system tables, so one statement is judged alike on both dialects."""
    if not isinstance(table.this, exp.Identifier):
        return None  # a function in FROM: the call check decides
    schema, name = str(table.db or "").lower(), str(table.name).lower()
    if not schema.startswith("pg_") and not (not schema and name.startswith("pg_")):
        return None
    shown = f"{schema}.{name}" if schema else name
    return (
        f"Table {shown} is not allowed in a read-only query: system catalogs and views are "
        "refused (information_schema and the database's own schemas are fine)"
    )


def _is_wrappable(node: Any, exp: Any) -> bool:
    if isinstance(node, exp.Subquery):
        return _is_wrappable(node.this, exp)
    if isinstance(node, exp.SetOperation):
        return _is_wrappable(node.this, exp) and _is_wrappable(node.expression, exp)
    return isinstance(node, exp.Select)


def _check_tree(tree: Any) -> None:
    from sqlglot import exp

    if not _is_wrappable(tree, exp):
        raise SqlRejectedError(f"{_UNWRAPPABLE_MESSAGE} (got {tree.key.upper()})")
    for node in tree.walk():
        problem = _denied_node(node, exp)
        if problem is not None:
            raise SqlRejectedError(problem)
        if isinstance(node, exp.CTE) and not _is_wrappable(node.this, exp):
            raise SqlRejectedError(
                f"{_UNWRAPPABLE_MESSAGE} (CTE {node.alias or '?'} is a {node.this.key.upper()})"
            )


def _closing_parens(tokens: Sequence[Any], types: Any) -> dict[int, int]:
    closing: dict[int, int] = {}
    stack: list[int] = []
    for index, token in enumerate(tokens):
        if token.token_type == types.L_PAREN:
            stack.append(index)
        elif token.token_type == types.R_PAREN and stack:
            closing[stack.pop()] = index
    return closing


def _is_column_list(tokens: Sequence[Any], paren: int, closing: dict[int, int], types: Any) -> bool:
    """Whether the parenthesis at ``paren`` opens a column list rather than call arguments:
    ``AS alias(a, b)`` or a CTE ``name(a, b) AS [NOT] [MATERIALIZED] (…)``."""
    before = tokens[paren - 2] if paren >= 2 else None
    if before is not None and before.token_type == types.ALIAS:
        return True
    if before is None or before.token_type not in (types.WITH, types.RECURSIVE, types.COMMA):
        return False
    end = closing.get(paren)
    if end is None or end + 2 >= len(tokens) or tokens[end + 1].token_type != types.ALIAS:
        return False
    follower = tokens[end + 2]
    return follower.token_type in (types.L_PAREN, types.NOT) or (
        str(follower.text).upper() == "MATERIALIZED"
    )


def _call_name(tokens: Sequence[Any], head: int, types: Any) -> tuple[str, str | None, bool]:
    """Return ``(name, schema, quoted)`` of the call whose name token is at ``head``; a name
    qualified by more than a schema gets the whole qualifier as its schema."""
    parts = [tokens[head]]
    index = head
    while index >= 2 and tokens[index - 1].token_type == types.DOT:
        index -= 2
        parts.insert(0, tokens[index])
    name = str(parts[-1].text)
    schema = ".".join(str(p.text) for p in parts[:-1]) or None
    return name, schema, parts[-1].token_type == types.IDENTIFIER


def _check_calls(sql: str, dialect: Dialect, extra: Iterable[str]) -> None:
    """Refuse every function call in ``sql`` (the regenerated text that will run) that is not
    on the allow-list."""
    from sqlglot.tokens import TokenType as types  # type: ignore[attr-defined]

    tokens = _tokenize(sql, dialect)
    closing = _closing_parens(tokens, types)
    allowed_extra = tuple(extra)
    for index in range(1, len(tokens)):
        if tokens[index].token_type != types.L_PAREN:
            continue
        head = tokens[index - 1]
        if head.token_type not in (types.VAR, types.IDENTIFIER):
            # keywords written like calls (IN, EXISTS, ANY, ROW, OVER, FILTER…) are syntax
            if never_allowed(str(head.text)):
                raise SqlRejectedError(_function_refused(str(head.text)))
            continue
        if _is_column_list(tokens, index, closing, types):
            continue
        name, schema, quoted = _call_name(tokens, index - 1, types)
        if schema is None and not quoted and name.lower() in SYNTAX_WORDS:
            continue
        exact_case = not quoted or dialect == "sqlite" or name == name.lower()
        if not exact_case or not is_function_allowed(name, dialect, allowed_extra, schema=schema):
            raise SqlRejectedError(_function_refused(f"{schema}.{name}" if schema else name))


def _function_refused(name: str) -> str:
    lowered = name.lower()
    reason = (
        "it runs SQL text or has side effects"
        if never_allowed(lowered)
        else "only documented built-in functions and target_database.allowed_functions may be "
        "called"
    )
    return f"Function {lowered} is not allowed in a read-only query ({reason})"


def _check_length(sql: object) -> str:
    if not isinstance(sql, str):
        raise SqlRejectedError(f"SQL must be a string; got {type(sql).__name__}")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlRejectedError(
            f"SQL statement is too long ({len(sql)} characters; the limit is {MAX_SQL_CHARS})"
        )
    return sql


def _checked_tree(sql: str, dialect: Dialect) -> Any:
    """Parse ``sql`` as one statement and check its structure and relations."""
    statements = _statement_tokens(sql, dialect)
    if not statements:
        raise SqlRejectedError("Empty SQL statement: write one SELECT or WITH query")
    if len(statements) > 1:
        raise SqlRejectedError("Multiple statements not allowed")
    _check_leading_keyword(statements[0])
    sqlglot = _sqlglot()
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise SqlRejectedError(f"SQL parse error: {_first_line(str(exc))}") from None
    except RecursionError:
        raise SqlRejectedError("SQL parse error: the statement is nested too deeply") from None
    if len(trees) != 1:
        raise SqlRejectedError(
            "Multiple statements not allowed" if trees else "Empty SQL statement"
        )
    _check_tree(trees[0])
    return trees[0]


def check_read_only(sql: str, dialect: Dialect, *, allowed_functions: Iterable[str] = ()) -> Any:
    """Check that ``sql`` is one read-only, wrappable SELECT; return its parsed tree.

    Args:
        sql: The statement as written.
        dialect: ``sqlite`` or ``postgres``.
        allowed_functions: Functions allowed beyond the built-in allow-list (lower case).

    Raises:
        SqlRejectedError: The statement is empty, too long, unparsable, several statements,
            not read-only, reads a system catalog, calls a function off the allow-list, or is
            not a wrappable SELECT (the message says which).
    """
    tree = _checked_tree(_check_length(sql), dialect)
    _check_calls(_render(tree, dialect), dialect, allowed_functions)
    return tree


def _scalar_params(params: Sequence[Any]) -> tuple[Any, ...]:
    if isinstance(params, str | bytes) or not isinstance(params, Sequence):
        raise SqlRejectedError("params must be a list of scalar values")
    for index, value in enumerate(params):
        if value is not None and not isinstance(value, str | int | float | bool):
            raise SqlRejectedError(
                f"params[{index}] must be a string, number, boolean or null; "
                f"got {type(value).__name__}"
            )
    return tuple(params)


def prepare_query(
    sql: str,
    *,
    dialect: Dialect,
    params: Sequence[Any] = (),
    limit: int = DEFAULT_LIMIT,
    allowed_functions: Iterable[str] = (),
) -> PreparedQuery:
    """Check ``sql`` and wrap it so at most ``limit + 1`` rows come back.

    Args:
        sql: One SELECT or WITH query; a trailing ``;`` is fine.
        dialect: ``sqlite`` (``?`` placeholders) or ``postgres`` (``$n`` placeholders).
        params: Positional parameters of the query (scalars).
        limit: Rows to return, clamped to ``1..=1000``.
        allowed_functions: Functions allowed beyond the built-in allow-list (lower case).

    Returns:
        The wrapped SQL with parameters ``(*params, limit + 1)``.

    Raises:
        SqlRejectedError: See :func:`check_read_only`; also non-scalar parameters.
    """
    bound = _scalar_params(params)
    limit = max(1, min(int(limit), MAX_LIMIT))
    inner = _render(_checked_tree(_check_length(sql), dialect), dialect)
    placeholder = "?" if dialect == "sqlite" else f"${len(bound) + 1}"
    wrapped = f"SELECT * FROM ({inner}) AS {WRAPPER_ALIAS} LIMIT {placeholder}"
    final = _render(_checked_tree(wrapped, dialect), dialect)
    _check_calls(final, dialect, allowed_functions)
    return PreparedQuery(sql=final, params=(*bound, limit + 1), limit=limit)


def guard_wide_values(sql: str, wide: Sequence[bool], max_bytes: int) -> str:
    """Wrap a statement so no value wider than ``max_bytes`` bytes leaves the database whole.

    ``sql`` is a statement that already passed the checks (or one the harness wrote itself);
    the wrapper adds only ``CASE``, ``CAST``, ``OCTET_LENGTH`` and ``SUBSTRING`` around its
    columns, so it is not checked again. Column ``i`` is renamed ``c<i>`` and keeps its type.
    When ``wide[i]`` is true it becomes ``NULL`` for values whose text form is longer than
    ``max_bytes``, and an extra column ``c<i>__agent_fw_cut`` carries the first ``max_bytes``
    characters of such values (``NULL`` otherwise).
    """
    limit = int(max_bytes)
    names = [f"c{index}" for index in range(len(wide))]
    parts: list[str] = []
    for name, is_wide in zip(names, wide, strict=True):
        column = f"{GUARD_ALIAS}.{name}"
        if not is_wide:
            parts.append(f"{column} AS {name}")
            continue
        text = f"CAST({column} AS TEXT)"
        parts.append(f"CASE WHEN OCTET_LENGTH({text}) > {limit} THEN NULL ELSE {column} END")
        parts.append(
            f"CASE WHEN OCTET_LENGTH({text}) > {limit} THEN SUBSTRING({text}, 1, {limit}) END "
            f"AS {name}{CUT_SUFFIX}"
        )
    return f"SELECT {', '.join(parts)} FROM ({sql}) AS {GUARD_ALIAS}({', '.join(names)})"


def _render(tree: Any, dialect: Dialect) -> str:
    """Regenerate SQL from a checked tree; refuse rather than silently drop unsupported syntax."""
    sqlglot = _sqlglot()
    try:
        rendered: str = tree.sql(
            dialect=dialect, comments=False, unsupported_level=sqlglot.ErrorLevel.RAISE
        )
    except sqlglot.errors.SqlglotError as exc:
        raise SqlRejectedError(
            f"SQL uses syntax that cannot be checked for the {dialect} dialect: "
            f"{_first_line(str(exc))}"
        ) from None
    return rendered
