"""Descriptor models of the data environment, and the URL redaction their errors rely on.

One frozen model per ``kind`` of each section (``kv``, ``catalog``, ``target_database``) plus the
``catalog_search`` settings. The public names are re-exported by
:mod:`flowai_harness.specs.data_environment`, which also owns the top-level model and the
normaliser.

Connection URLs carry passwords, so every model here scrubs URLs out of its validation errors
(message text, ``errors()`` and ``json()``) and out of its ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import unquote_plus

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails

from flowai_harness.specs._wire import WireModel

__all__ = [
    "DESCRIPTOR_KINDS",
    "TARGET_MAX_RESULT_BYTES",
    "TARGET_POOL_SIZE",
    "TARGET_POOL_TIMEOUT_SECS",
    "CatalogDescriptor",
    "CatalogSearch",
    "EmptyCatalog",
    "EnvironmentModel",
    "InlineCatalog",
    "KvDescriptor",
    "MemoryKv",
    "PostgresCatalog",
    "PostgresKv",
    "PostgresTargetDatabase",
    "RedisKv",
    "SqliteCatalog",
    "SqliteKv",
    "SqliteTargetDatabase",
    "TargetDatabaseDescriptor",
    "check_identifier",
    "check_non_blank",
    "check_url_scheme",
    "describe_type",
    "redact_secrets",
    "redact_url",
]

_MASK = "***"
_SECRET_KEYS = frozenset({"password", "apikey", "api_key", "token", "access_token"})
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# libpq keyword/value connection strings ("host=h password=secret") have no scheme.
_SECRET_KEYWORD = re.compile(
    rf"(?i)(?<![A-Za-z0-9_])({'|'.join(sorted(_SECRET_KEYS, key=len, reverse=True))})(\s*=\s*)"
    r"('(?:[^'\\]|\\.)*'|\S*)"
)
_QUERY_PARAM = re.compile(r"(?P<sep>[?&])(?P<key>[^=&#?]*)=(?P<value>[^&#]*)")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_]+")
_URL_SCHEME_NAME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_SCHEME_SLASH = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):/")
_URL_FIELDS = frozenset({"url", "target_database_url"})


def redact_url(url: str) -> str:
    """Return ``url`` with its secrets masked, for use in messages and logs.

    The password of the userinfo becomes ``***`` (``postgres://user:***@host/db``) and the values
    of the query parameters ``password``, ``apikey``, ``api_key``, ``token`` and ``access_token``
    (any case) become ``***``. A string without a URL scheme is treated as a libpq keyword/value
    connection string and the same keys are masked there. When the authority is ambiguous the
    function masks too much rather than too little.

    Args:
        url: A connection URL, possibly holding credentials.

    Returns:
        The URL with every secret replaced by ``***``; other characters are kept as given.
    """
    scheme = _URL_SCHEME.match(url)
    if scheme is None:
        return _SECRET_KEYWORD.sub(lambda m: f"{m[1]}{m[2]}{_MASK}", url)
    text, authority = url, scheme.end() + 2
    if url.startswith("//", scheme.end()) and "@" in url[authority:]:
        # The last "@" bounds the userinfo, so a password holding "@", "/", "?" or "#" stays
        # masked; an "@" inside the query only makes the mask wider.
        at = url.rindex("@")
        user, colon, _password = url[authority:at].partition(":")
        if colon:
            text = f"{url[:authority]}{user}:{_MASK}{url[at:]}"
    # Scanning the whole text (not only what follows the first "?") also catches a query that
    # the userinfo heuristic above pushed into the user part.
    return _QUERY_PARAM.sub(_redact_query_param, text)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.strip().lower() in _SECRET_KEYS


def _redact_query_param(match: re.Match[str]) -> str:
    if _is_secret_key(unquote_plus(match["key"])):
        return f"{match['sep']}{match['key']}={_MASK}"
    return match[0]


def redact_secrets(value: Any) -> Any:
    """Return a copy of a JSON-like value with :func:`redact_url` applied to every string.

    Values stored under a key named like a secret (``password``, ``token``, ...) are masked
    whole.

    Args:
        value: Any value; mappings, lists, tuples and pydantic models (as their dump) are walked
            recursively.

    Returns:
        The same structure with every string redacted.
    """
    if isinstance(value, BaseModel):
        return redact_secrets(value.model_dump(by_alias=True))
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, Mapping):
        return {
            key: _MASK if _is_secret_key(key) else redact_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_secrets(item) for item in value]
    return value


def describe_type(value: object) -> str:
    """Return the type name used in error messages (``NoneType``, ``int``, ...).

    Args:
        value: The offending value.

    Returns:
        The name of the value's type.
    """
    return type(value).__name__


def check_non_blank(value: str, field: str) -> str:
    """Reject an empty or whitespace-only string.

    Args:
        value: The string to check.
        field: Dotted field path named in the message.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: ``value`` is blank.
    """
    if not value.strip():
        raise ValueError(f"{field} must be a non-blank string")
    return value


def check_url_scheme(url: str, descriptor: type[_Descriptor], *, field: str | None = None) -> str:
    """Reject a URL whose scheme the descriptor's backend does not take (``htp://x``).

    A one-letter scheme is a Windows drive (``C:/db``) and is left alone; so is, for SQLite, a
    ``name:`` prefix not followed by ``/`` (a file may be called ``data:v1.db``).

    Args:
        url: The URL to check.
        descriptor: The descriptor model; ``url_schemes`` are accepted, ``url_form`` says so
            in the message.
        field: What to call the URL in the message (the descriptor's ``url`` by default).

    Returns:
        ``url`` unchanged.

    Raises:
        ValueError: The scheme is not one of ``descriptor.url_schemes``.
    """
    pattern = _SCHEME_SLASH if "sqlite" in descriptor.url_schemes else _URL_SCHEME_NAME
    match = pattern.match(url)
    if match is None or len(match[1]) == 1 or match[1].lower() in descriptor.url_schemes:
        return url
    kind = descriptor.model_fields["kind"].default
    shown = field or descriptor._field_path("url")
    raise ValueError(
        f"{shown} '{redact_url(url)}' has an unknown scheme '{match[1]}:'; a {descriptor.section} "
        f"of kind '{kind}' takes {descriptor.url_form}"
    )


def check_identifier(value: str, field: str) -> str:
    """Reject a SQL identifier outside ``[A-Za-z0-9_]+``.

    Args:
        value: The identifier to check.
        field: Dotted field path named in the message.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: ``value`` has another character or is empty.
    """
    if _IDENTIFIER.fullmatch(value) is None:
        raise ValueError(f"{field} must match [A-Za-z0-9_]+; got {value!r}")
    return value


class EnvironmentModel(WireModel):
    """Base of the data-environment models: keeps secrets out of errors and drops ``None``.

    Validation errors are re-raised with every string input passed through :func:`redact_url`,
    so neither the message nor ``errors()``/``json()`` carries a connection password. The wire
    form omits keys whose value is ``None`` (the spec's "None values dropped").
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    @model_validator(mode="wrap")
    @classmethod
    def _validate_without_secrets(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        # Cross-field rules run here rather than in "after" validators: a subclass validator
        # would wrap this one and report its raw (unredacted) input.
        try:
            model = handler(data)
            if isinstance(model, EnvironmentModel):
                model._check_fields_together()
        except ValidationError as error:
            details: list[InitErrorDetails] = []
            for line in error.errors():
                loc = line["loc"]
                hidden = _MASK if loc and _is_secret_key(loc[-1]) else line["input"]
                detail = InitErrorDetails(type=line["type"], loc=loc, input=redact_secrets(hidden))
                if "ctx" in line:
                    detail["ctx"] = line["ctx"]
                details.append(detail)
            raise ValidationError.from_exception_data(error.title, details) from None
        except ValueError as error:
            detail = InitErrorDetails(
                type="value_error", loc=(), input=redact_secrets(data), ctx={"error": error}
            )
            raise ValidationError.from_exception_data(cls.__name__, [detail]) from None
        return model

    def _check_fields_together(self) -> None:
        """Check rules that span several fields; raise ``ValueError`` to reject the model."""

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in _URL_FIELDS and isinstance(value, str):
                yield name, redact_url(value)
            else:
                yield name, value


class _Descriptor(EnvironmentModel):
    """A backend descriptor of one data-environment section, tagged by ``kind``."""

    section: ClassVar[str]
    url_schemes: ClassVar[tuple[str, ...]] = ()
    url_form: ClassVar[str] = ""
    kind: str

    @classmethod
    def _field_path(cls, field: str) -> str:
        return f"data_environment.{cls.section}.{field}"


class _SqliteDescriptor(_Descriptor):
    """A descriptor whose backend is an SQLite file named by a required ``url``."""

    url_schemes: ClassVar[tuple[str, ...]] = ("sqlite", "file")
    url_form: ClassVar[str] = "sqlite: or file: URLs or a plain file path (sqlite:/srv/app/kv.db)"
    url: str

    @field_validator("url")
    @classmethod
    def _url_not_blank(cls, url: str) -> str:
        return check_url_scheme(check_non_blank(url, cls._field_path("url")), cls)


class _RemoteDescriptor(_Descriptor):
    """A descriptor naming its server either by ``url`` or by ``url_env`` (exactly one)."""

    url_schemes: ClassVar[tuple[str, ...]] = ("postgresql", "postgres")
    url_form: ClassVar[str] = (
        "postgresql:// or postgres:// URLs (postgresql://<user>:<password>@<host>:5432/<db>)"
    )
    url: str | None = None
    url_env: str | None = None

    @field_validator("url", "url_env")
    @classmethod
    def _not_blank(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        checked = check_non_blank(value, cls._field_path(str(info.field_name)))
        return check_url_scheme(checked, cls) if info.field_name == "url" else checked

    def _check_fields_together(self) -> None:
        where = f"data_environment.{self.section} (kind {self.kind!r})"
        if self.url is not None and self.url_env is not None:
            raise ValueError(f"{where} accepts either url or url_env, not both")
        if self.url is None and self.url_env is None:
            raise ValueError(f"{where} requires url_env or url")


class MemoryKv(_Descriptor):
    """KV kind ``memory``: the process-local store (the default when ``kv`` is absent)."""

    section: ClassVar[str] = "kv"
    kind: Literal["memory"] = "memory"


class SqliteKv(_SqliteDescriptor):
    """KV kind ``sqlite``: ``url`` is ``sqlite:<path>`` or a bare path.

    ``ensure_schema`` is accepted for compatibility; the table is always created.
    """

    section: ClassVar[str] = "kv"
    kind: Literal["sqlite"] = "sqlite"
    ensure_schema: bool = False


class PostgresKv(_RemoteDescriptor):
    """KV kind ``postgres``: ``url`` xor ``url_env``; ``table`` is created if ``ensure_schema``.

    ``pool_size`` (default 10, at most 1000) bounds the pooled connections of each event loop;
    it appears on the wire only when set.
    """

    section: ClassVar[str] = "kv"
    kind: Literal["postgres"] = "postgres"
    table: str = "kv_store"
    ensure_schema: bool = False
    pool_size: int | None = Field(default=None, ge=1, le=1000)

    @field_validator("table")
    @classmethod
    def _table_is_identifier(cls, table: str) -> str:
        return check_identifier(table, cls._field_path("table"))


class RedisKv(_RemoteDescriptor):
    """KV kind ``redis``: ``url`` xor ``url_env``; keys are ``<prefix><tenant>:<key>``."""

    url_schemes: ClassVar[tuple[str, ...]] = ("redis", "rediss", "unix")
    url_form: ClassVar[str] = "redis://, rediss:// (TLS) or unix:// URLs (redis://<host>:6379/0)"
    section: ClassVar[str] = "kv"
    kind: Literal["redis"] = "redis"
    prefix: str = "afw:"


class EmptyCatalog(_Descriptor):
    """Catalog kind ``empty``: an in-memory, read-only catalog with no entries."""

    section: ClassVar[str] = "catalog"
    kind: Literal["empty"] = "empty"


class InlineCatalog(_Descriptor):
    """Catalog kind ``inline``: in-memory, read-only ``entries`` in the catalog entry wire shape.

    Entries are kept exactly as given (their casing is deliberately mixed, and ``None`` values
    inside them are preserved); the catalog backend validates their content.
    """

    section: ClassVar[str] = "catalog"
    kind: Literal["inline"] = "inline"
    entries: list[dict[str, Any]] = Field(default_factory=list)


class SqliteCatalog(_SqliteDescriptor):
    """Catalog kind ``sqlite``: writable; ``ensure_schema`` accepted, tables always created."""

    section: ClassVar[str] = "catalog"
    kind: Literal["sqlite"] = "sqlite"
    ensure_schema: bool = False


class PostgresCatalog(_RemoteDescriptor):
    """Catalog kind ``postgres``: writable; tables created only if ``ensure_schema``."""

    section: ClassVar[str] = "catalog"
    kind: Literal["postgres"] = "postgres"
    ensure_schema: bool = False


TARGET_MAX_RESULT_BYTES = 1_048_576
"""Default ``max_result_bytes`` of a target database: the JSON size cap of one query result."""
TARGET_POOL_SIZE = 4
"""Default ``pool_size`` of a ``postgres`` target database."""
TARGET_POOL_TIMEOUT_SECS = 10.0
"""Default ``pool_timeout_secs`` of a ``postgres`` target: the wait for a free connection."""

_FUNCTION_NAME = re.compile(r"[a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)?")


class _TargetDatabaseDescriptor(_Descriptor):
    """Settings shared by the target database kinds.

    ``allowed_functions`` adds functions (``name`` or ``schema.name``, any case, stored lower
    case) to the built-in allow-list of ``execute_query``; ``max_result_bytes`` caps the JSON
    size of one result (default 1 MiB). Unset settings are left out of the wire form and take
    their defaults in the backend.
    """

    section: ClassVar[str] = "target_database"
    allowed_functions: list[str] | None = None
    max_result_bytes: int | None = Field(default=None, ge=1024, le=64 * 1_048_576)

    @field_validator("allowed_functions")
    @classmethod
    def _function_names(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return None
        out: list[str] = []
        for name in names:
            lowered = name.strip().lower()
            if _FUNCTION_NAME.fullmatch(lowered) is None:
                raise ValueError(
                    f"{cls._field_path('allowed_functions')} entries must be function names like "
                    f"'my_func' or 'my_schema.my_func'; got {name!r}"
                )
            if lowered not in out:
                out.append(lowered)
        return out


class SqliteTargetDatabase(_TargetDatabaseDescriptor, _SqliteDescriptor):
    """Target database kind ``sqlite``: the read-only source database file."""

    kind: Literal["sqlite"] = "sqlite"


class PostgresTargetDatabase(_TargetDatabaseDescriptor, _RemoteDescriptor):
    """Target database kind ``postgres``: ``url`` xor ``url_env``; ``schema`` is introspected.

    ``allow_privileged`` accepts a connection role that is a superuser, can write to the schemas
    it reads, or holds privileged roles (``create_runtime`` refuses such a role otherwise and
    logs a warning when it is accepted). ``pool_size`` (default 4, at most 100) bounds the
    concurrent queries; ``pool_timeout_secs`` (default 10) bounds the wait for a free
    connection.
    """

    kind: Literal["postgres"] = "postgres"
    schema_: str = Field(default="public", alias="schema")
    allow_privileged: bool | None = None
    pool_size: int | None = Field(default=None, ge=1, le=100)
    pool_timeout_secs: float | None = Field(default=None, gt=0, le=600)

    @field_validator("schema_")
    @classmethod
    def _schema_is_identifier(cls, schema: str) -> str:
        return check_identifier(schema, cls._field_path("schema"))


class CatalogSearch(EnvironmentModel):
    """``catalog_search``: the on-disk full-text index over the catalog.

    ``index_path`` is the root directory (required, non-blank); ``rebuild_on_start`` rebuilds the
    scope index when the environment opens; ``write_through`` updates it after catalog writes.
    """

    index_path: str
    rebuild_on_start: bool = False
    write_through: bool = False

    @field_validator("index_path")
    @classmethod
    def _index_path_not_blank(cls, index_path: str) -> str:
        field = "data_environment.catalog_search.index_path"
        check_non_blank(index_path, field)
        scheme = _SCHEME_SLASH.match(index_path)
        if scheme is not None and len(scheme[1]) > 1:
            raise ValueError(
                f"{field} must be a local directory path, not a URL ('{redact_url(index_path)}'); "
                "e.g. /var/lib/app/catalog-index"
            )
        return index_path


KvDescriptor = Annotated[MemoryKv | SqliteKv | PostgresKv | RedisKv, Field(discriminator="kind")]
"""Any ``kv`` descriptor, chosen by ``kind``."""

CatalogDescriptor = Annotated[
    EmptyCatalog | InlineCatalog | SqliteCatalog | PostgresCatalog, Field(discriminator="kind")
]
"""Any ``catalog`` descriptor, chosen by ``kind``."""

TargetDatabaseDescriptor = Annotated[
    SqliteTargetDatabase | PostgresTargetDatabase, Field(discriminator="kind")
]
"""Any ``target_database`` descriptor, chosen by ``kind``."""


def _kinds(*models: type[_Descriptor]) -> dict[str, type[_Descriptor]]:
    return {model.model_fields["kind"].default: model for model in models}


DESCRIPTOR_KINDS: dict[str, dict[str, type[_Descriptor]]] = {
    "kv": _kinds(MemoryKv, SqliteKv, PostgresKv, RedisKv),
    "target_database": _kinds(SqliteTargetDatabase, PostgresTargetDatabase),
    "catalog": _kinds(EmptyCatalog, InlineCatalog, SqliteCatalog, PostgresCatalog),
}
"""Section -> supported ``kind`` -> descriptor model, in the order error messages list them."""
