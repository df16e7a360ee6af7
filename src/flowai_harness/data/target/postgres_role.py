"""Is the PostgreSQL target's connection role safe for agent queries?

Agents only ever get a read-only transaction, but defence in depth wants the role itself to be
unable to do harm: not a superuser, no ``CREATEROLE`` / ``CREATEDB`` / ``REPLICATION`` /
``BYPASSRLS``, no membership in a role that reads or writes server files, runs programs,
writes all data or signals other sessions, and no way to create objects in or write to the
schemas it reads (the configured schema and ``public``). Roles the connection role can switch to
(``SET ROLE``) count as its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flowai_harness.errors import PrivilegedTargetRoleError

__all__ = ["PRIVILEGED_ROLES", "RoleReport", "inspect_role", "privileged_role_error"]

PRIVILEGED_ROLES = (
    "pg_execute_server_program",
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_write_all_data",
    "pg_signal_backend",
    "pg_checkpoint",
    "pg_create_subscription",
)
"""Built-in roles a target connection role must not be a member of."""

_ATTRIBUTES = (
    ("rolsuper", "is a superuser"),
    ("rolcreaterole", "has CREATEROLE"),
    ("rolcreatedb", "has CREATEDB"),
    ("rolreplication", "has REPLICATION"),
    ("rolbypassrls", "has BYPASSRLS"),
)
_MEMBERS = (
    "WITH member AS (SELECT r.oid, r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, "
    "r.rolreplication, r.rolbypassrls FROM pg_catalog.pg_roles AS r "
    "WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')) "
)
_ROLES = (
    _MEMBERS + "SELECT rolname, rolname = current_user AS is_self, rolsuper, rolcreaterole, "
    "rolcreatedb, rolreplication, rolbypassrls FROM member ORDER BY is_self DESC, rolname"
)
_WRITABLE_SCHEMAS = (
    _MEMBERS + "SELECT DISTINCT n.nspname FROM pg_catalog.pg_namespace AS n CROSS JOIN member AS m "
    "WHERE n.nspname = ANY(%s) AND (n.nspowner = m.oid OR "
    "pg_catalog.has_schema_privilege(m.oid, n.oid, 'CREATE')) ORDER BY 1"
)
_WRITABLE_TABLES = (
    _MEMBERS + "SELECT DISTINCT n.nspname || '.' || c.relname FROM pg_catalog.pg_class AS c "
    "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace CROSS JOIN member AS m "
    "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND "
    "(c.relowner = m.oid OR pg_catalog.has_table_privilege(m.oid, c.oid, "
    "'INSERT, UPDATE, DELETE, TRUNCATE')) ORDER BY 1 LIMIT 6"
)


@dataclass(frozen=True, slots=True)
class RoleReport:
    """The connection role's name and what makes it unsafe (empty when it is SELECT-only)."""

    role: str
    problems: tuple[str, ...]


def _attribute_problems(rows: Sequence[Sequence[Any]]) -> list[str]:
    problems: list[str] = []
    for name, is_self, *flags in rows:
        held = [text for (_, text), flag in zip(_ATTRIBUTES, flags, strict=True) if flag]
        if is_self:
            problems += [f"it {text}" for text in held]
            continue
        if name in PRIVILEGED_ROLES:
            problems.append(f"it is a member of {name}")
        elif held:
            problems.append(f"it is a member of {name}, which {' and '.join(held)}")
    return problems


def inspect_role(conn: Any, schemas: Sequence[str]) -> RoleReport:
    """Inspect the role of ``conn`` (a psycopg connection, inside a transaction).

    Args:
        conn: The connection to inspect.
        schemas: The schemas the target reads (configured schema and ``public``).

    Returns:
        The role name and a list of problems, each a short phrase starting with "it".
    """
    role = str(conn.execute("SELECT current_user").fetchone()[0])
    rows = conn.execute(_ROLES).fetchall()
    own = [row for row in rows if row[1]]
    if any(row[2] for row in own):
        # a superuser holds every privilege: listing them would only bury the point
        return RoleReport(role, tuple(_attribute_problems(own)))
    problems = _attribute_problems(rows)
    for (schema,) in conn.execute(_WRITABLE_SCHEMAS, (list(schemas),)).fetchall():
        problems.append(f"it can create objects in schema {schema}")
    tables = [str(name) for (name,) in conn.execute(_WRITABLE_TABLES, (list(schemas),))]
    if tables:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        problems.append(f"it can write to or owns tables it reads ({shown})")
    return RoleReport(role, tuple(problems))


def privileged_role_error(report: RoleReport, redacted_url: str) -> PrivilegedTargetRoleError:
    """The ``create_runtime`` error for a privileged role: what is wrong and how to fix it."""
    return PrivilegedTargetRoleError(
        f"data_environment.target_database ({redacted_url}): the connection role "
        f"'{report.role}' is not safe for agent queries: {'; '.join(report.problems)}. "
        "Connect with a SELECT-only role (see 'A SELECT-only PostgreSQL role' in "
        "docs/security.md), or set data_environment.target_database.allow_privileged to true "
        "to accept this role"
    )
