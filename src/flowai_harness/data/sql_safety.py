"""Read-only SQL for ``execute_query``: classify on the parsed tree, then wrap with a limit.

The rules of guides.md §2.4:

1. parse with the target's dialect (parse error -> ``SQL parse error: …``); more than one
   statement -> ``Multiple statements not allowed``; an empty statement is refused;
2. a recursive read-only check over CTEs, subqueries and function arguments: no DML or DDL, no
   ``SELECT INTO``, no locking clause, no function from the deny-list;
3. the statement must be a wrappable ``SELECT`` (a select, a nested query or a set operation of
   selects; every CTE body too);
4. the statement becomes ``SELECT * FROM (<sql>) AS agent_fw_limited LIMIT <placeholder>`` bound
   to ``L + 1`` so truncation can be reported, and the rewrite is checked again.

What runs on the database is the SQL regenerated from the checked tree (comments dropped), not
the text the model wrote: the statement executed is exactly the one that was checked, so a
difference between sqlglot's parser and the database's cannot smuggle a second statement in.
The database adds its own guard (read-only connection or transaction, statement timeout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flowai_harness.errors import MissingDependencyError, SqlRejectedError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_SQL_CHARS",
    "Dialect",
    "PreparedQuery",
    "check_read_only",
    "denied_function",
    "prepare_query",
]

Dialect = Literal["sqlite", "postgres"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: Longer statements are refused before parsing (a guard against parser resource abuse).
MAX_SQL_CHARS = 100_000
WRAPPER_ALIAS = "agent_fw_limited"

_DENIED_PREFIXES = (
    "pg_read_",
    "pg_ls_",
    "lo_",
    "dblink",
    "pg_sleep",
    "pg_advisory",
    "pg_try_advisory",
    "pg_file_",
    "pg_logdir",
    "pg_replication_",
    "pg_create_",
    "pg_drop_",
    "pg_backup_",
    "pg_wal_replay_",
)
_DENIED_NAMES = frozenset(
    {
        # guides.md §2.4
        "pg_execute_server_program",
        "pg_stat_file",
        "pg_sleep",
        "pg_terminate_backend",
        "pg_reload_conf",
        "query_to_xml",
        "query_to_xml_and_xmlschema",
        "database_to_xml",
        "database_to_xml_and_xmlschema",
        "table_to_xml",
        "table_to_xml_and_xmlschema",
        "cursor_to_xml",
        "xml_is_well_formed",
        # more PostgreSQL side effects: signals, settings, sequences, notifications, xids
        "pg_cancel_backend",
        "pg_rotate_logfile",
        "pg_switch_wal",
        "pg_promote",
        "pg_notify",
        "set_config",
        "nextval",
        "setval",
        "txid_current",
        "pg_current_xact_id",
        "pg_import_system_collations",
        "pg_start_backup",
        "pg_stop_backup",
        # SQLite extension loading and file access (sqlite3 shell / fileio extension)
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fts3_tokenizer",
    }
)
# Catalogs holding password hashes or user-mapping secrets.
_DENIED_TABLES = frozenset({"pg_authid", "pg_shadow", "pg_user_mapping", "pg_user_mappings"})

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


def denied_function(name: str) -> bool:
    """Whether a function (unqualified name, any case) is on the deny-list."""
    lowered = name.lower().rsplit(".", 1)[-1]
    return lowered in _DENIED_NAMES or lowered.startswith(_DENIED_PREFIXES)


def _first_line(message: str) -> str:
    return " ".join(message.strip().splitlines()[:1])[:300]


def _statement_tokens(sql: str, dialect: Dialect) -> list[list[Any]]:
    """Split the token stream into statements at top-level semicolons (strings and comments are
    already single tokens), dropping empty statements."""
    sqlglot = _sqlglot()
    from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(sql)
    except sqlglot.errors.SqlglotError as exc:
        raise SqlRejectedError(f"SQL parse error: {_first_line(str(exc))}") from None
    statements: list[list[Any]] = [[]]
    for token in tokens:
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


def _denied_node(node: Any, exp: Any) -> str | None:
    """Why ``node`` makes the statement not read-only, or ``None``."""
    statement_types = (
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
    if isinstance(node, statement_types):
        label = node.key.upper() if not isinstance(node, exp.Command) else str(node.this).upper()
        return f"Only read-only SELECT/WITH queries are allowed; found {label}"
    if isinstance(node, exp.Into):
        return "SELECT INTO is not allowed: execute_query is read-only"
    if isinstance(node, exp.Lock):
        return (
            "Locking clauses (FOR UPDATE / FOR SHARE) are not allowed: execute_query is read-only"
        )
    if isinstance(node, exp.Func):
        names = (
            {node.name}
            if isinstance(node, exp.Anonymous)
            else {node.sql_name(), *type(node).sql_names()}
        )
        for name in names:
            if name and denied_function(str(name)):
                return f"Function {str(name).lower()} is not allowed in execute_query"
    if isinstance(node, exp.Table) and str(node.name).lower() in _DENIED_TABLES:
        return f"Reading {str(node.name).lower()} is not allowed in execute_query"
    return None


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
        if isinstance(node, exp.Select) and node.args.get("into") is not None:
            raise SqlRejectedError("SELECT INTO is not allowed: execute_query is read-only")
        if isinstance(node, exp.Select) and node.args.get("locks"):
            raise SqlRejectedError(
                "Locking clauses (FOR UPDATE / FOR SHARE) are not allowed: execute_query is "
                "read-only"
            )
        problem = _denied_node(node, exp)
        if problem is not None:
            raise SqlRejectedError(problem)
        if isinstance(node, exp.CTE) and not _is_wrappable(node.this, exp):
            raise SqlRejectedError(
                f"{_UNWRAPPABLE_MESSAGE} (CTE {node.alias or '?'} is a {node.this.key.upper()})"
            )


def check_read_only(sql: str, dialect: Dialect) -> Any:
    """Check that ``sql`` is one read-only, wrappable SELECT; return its parsed tree.

    Raises:
        SqlRejectedError: The statement is empty, too long, unparsable, several statements,
            not read-only, or not a wrappable SELECT (the message says which).
    """
    if not isinstance(sql, str):
        raise SqlRejectedError(f"SQL must be a string; got {type(sql).__name__}")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlRejectedError(
            f"SQL statement is too long ({len(sql)} characters; the limit is {MAX_SQL_CHARS})"
        )
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
) -> PreparedQuery:
    """Check ``sql`` and wrap it so at most ``limit + 1`` rows come back.

    Args:
        sql: One SELECT or WITH query; a trailing ``;`` is fine.
        dialect: ``sqlite`` (``?`` placeholders) or ``postgres`` (``$n`` placeholders).
        params: Positional parameters of the query (scalars).
        limit: Rows to return, clamped to ``1..=1000``.

    Returns:
        The wrapped SQL with parameters ``(*params, limit + 1)``.

    Raises:
        SqlRejectedError: See :func:`check_read_only`; also non-scalar parameters.
    """
    bound = _scalar_params(params)
    limit = max(1, min(int(limit), MAX_LIMIT))
    inner = _render(check_read_only(sql, dialect), dialect)
    placeholder = "?" if dialect == "sqlite" else f"${len(bound) + 1}"
    wrapped = f"SELECT * FROM ({inner}) AS {WRAPPER_ALIAS} LIMIT {placeholder}"
    final = _render(check_read_only(wrapped, dialect), dialect)
    return PreparedQuery(sql=final, params=(*bound, limit + 1), limit=limit)


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
