"""Which functions a read-only ``execute_query`` statement may call, per dialect.

An allow-list, not a deny-list: a statement may call only the documented built-in scalar,
aggregate, window, date/time, string, JSON, array and math functions listed here, plus the names
a target database descriptor adds in ``allowed_functions``. A new server version or extension
adds functions nobody has reviewed; they stay refused until someone lists them.

A few names are never allowed, not even through ``allowed_functions``: the functions that run
SQL text handed to them (``query_to_xml``, ``ts_stat``, ``dblink`` …), so the statement check
cannot see what they execute, and the ones that touch the server, the file system or the session
(``set_config``, ``pg_read_file``, ``lo_import``, advisory locks …).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from flowai_harness.errors import DataEnvironmentError

__all__ = [
    "POSTGRES_FUNCTIONS",
    "SQLITE_FUNCTIONS",
    "SYNTAX_WORDS",
    "check_allowed_function_names",
    "is_function_allowed",
    "never_allowed",
]

_MATH = """
abs cbrt ceil ceiling degrees div erf erfc exp factorial floor gcd lcm ln log log10 min_scale
mod pi power pow radians round scale sign sqrt trim_scale trunc width_bucket random
random_normal acos acosd asin asind atan atand atan2 atan2d cos cosd cot cotd sin sind tan tand
sinh cosh tanh asinh acosh atanh
"""
_STRING = """
ascii bit_length btrim casefold char_length character_length chr concat concat_ws format
initcap left length lower lpad ltrim md5 normalize octet_length overlay position quote_ident
quote_literal quote_nullable regexp_count regexp_instr regexp_like regexp_match regexp_matches
regexp_replace regexp_split_to_array regexp_split_to_table regexp_substr repeat replace reverse
right rpad rtrim split_part starts_with string_to_array string_to_table strpos substr substring
to_ascii translate trim unistr upper encode decode sha224 sha256 sha384 sha512
convert_from convert_to get_bit get_byte gen_random_uuid
"""
_DATE_TIME = """
age clock_timestamp date_add date_bin date_part date_subtract date_trunc extract isfinite
justify_days justify_hours justify_interval make_date make_interval make_time make_timestamp
make_timestamptz now statement_timestamp timeofday transaction_timestamp to_timestamp to_char
to_date to_number timezone
"""
_AGGREGATE_WINDOW = """
any_value array_agg avg bit_and bit_or bit_xor bool_and bool_or count every json_agg jsonb_agg
json_agg_strict jsonb_agg_strict json_object_agg jsonb_object_agg json_object_agg_strict
jsonb_object_agg_strict json_object_agg_unique jsonb_object_agg_unique json_arrayagg
json_objectagg max min range_agg range_intersect_agg string_agg sum corr covar_pop covar_samp
regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy
stddev stddev_pop stddev_samp variance var_pop var_samp mode percentile_cont percentile_disc
grouping row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value
last_value nth_value
"""
_CONDITIONAL = "coalesce nullif greatest least num_nulls num_nonnulls"
_JSON = """
to_json to_jsonb array_to_json row_to_json json_build_array jsonb_build_array json_build_object
jsonb_build_object json_object jsonb_object json_array json_array_elements
jsonb_array_elements json_array_elements_text jsonb_array_elements_text json_array_length
jsonb_array_length json_each jsonb_each json_each_text jsonb_each_text json_extract_path
jsonb_extract_path json_extract_path_text jsonb_extract_path_text json_object_keys
jsonb_object_keys json_populate_record jsonb_populate_record json_populate_recordset
jsonb_populate_recordset json_to_record jsonb_to_record json_to_recordset jsonb_to_recordset
json_strip_nulls jsonb_strip_nulls jsonb_set jsonb_set_lax jsonb_insert jsonb_pretty
json_typeof jsonb_typeof jsonb_path_exists jsonb_path_match jsonb_path_query
jsonb_path_query_array jsonb_path_query_first jsonb_path_exists_tz jsonb_path_match_tz
jsonb_path_query_tz jsonb_path_query_array_tz jsonb_path_query_first_tz json_scalar
json_serialize json_exists json_query json_value
"""
_ARRAY_RANGE = """
array_append array_cat array_dims array_fill array_length array_lower array_ndims
array_position array_positions array_prepend array_remove array_replace array_sample
array_shuffle array_to_string array_upper cardinality trim_array unnest generate_series
generate_subscripts isempty lower_inc upper_inc lower_inf upper_inf range_merge int4range
int8range numrange tsrange tstzrange daterange
"""
_TEXT_SEARCH = """
to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_rank
ts_rank_cd ts_headline setweight tsvector_to_array array_to_tsvector numnode querytree strip
"""
# Function-call spelling of casts (``date(created_at)``) and the TABLESAMPLE methods.
_CASTS_AND_SAMPLING = """
date text numeric int2 int4 int8 float4 float8 bool varchar bpchar timestamp timestamptz time
interval uuid pg_typeof system bernoulli
"""

POSTGRES_FUNCTIONS: frozenset[str] = frozenset(
    " ".join(
        (
            _MATH,
            _STRING,
            _DATE_TIME,
            _AGGREGATE_WINDOW,
            _CONDITIONAL,
            _JSON,
            _ARRAY_RANGE,
            _TEXT_SEARCH,
            _CASTS_AND_SAMPLING,
        )
    ).split()
)
"""PostgreSQL built-ins a read-only query may call (unqualified or ``pg_catalog.``)."""

_SQLITE = """
abs changes char coalesce concat concat_ws format glob hex ifnull iif instr length like
likelihood likely lower ltrim max min nullif octet_length printf quote random randomblob replace
round rtrim sign soundex sqlite_source_id sqlite_version substr substring trim typeof unhex
unicode unlikely upper zeroblob date time datetime julianday unixepoch strftime timediff avg
count group_concat string_agg sum total row_number rank dense_rank percent_rank cume_dist ntile
lag lead first_value last_value nth_value acos acosh asin asinh atan atan2 atanh ceil ceiling
cos cosh degrees exp floor ln log log10 log2 mod pi pow power radians sin sinh sqrt tan tanh
trunc json jsonb json_array jsonb_array json_array_length json_error_position json_extract
jsonb_extract json_insert jsonb_insert json_object jsonb_object json_patch jsonb_patch
json_remove jsonb_remove json_replace jsonb_replace json_set jsonb_set json_type json_valid
json_quote json_group_array jsonb_group_array json_group_object jsonb_group_object -> ->>
"""

SQLITE_FUNCTIONS: frozenset[str] = frozenset(_SQLITE.split())
"""SQLite built-ins a read-only query may call (``->`` and ``->>`` are the JSON operators, which
SQLite's authorizer reports as functions). The table-valued ``json_each`` / ``json_tree`` are
not listed: setting them up needs schema access the read-only authorizer refuses."""

SYNTAX_WORDS: frozenset[str] = frozenset(
    {"cast", "extract", "position", "substring", "overlay", "trim", "group", "materialized"}
)
"""Words written like a call (``CAST(x AS int)``, ``WITHIN GROUP (…)``) that are SQL syntax."""

# Functions that run SQL text passed to them: what they execute is invisible to the check.
_SQL_TEXT_RUNNERS = frozenset(
    {
        "query_to_xml",
        "query_to_xmlschema",
        "query_to_xml_and_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "table_to_xml",
        "table_to_xmlschema",
        "table_to_xml_and_xmlschema",
        "schema_to_xml",
        "schema_to_xmlschema",
        "schema_to_xml_and_xmlschema",
        "database_to_xml",
        "database_to_xmlschema",
        "database_to_xml_and_xmlschema",
        "ts_stat",
        "ts_rewrite",
        "xpath_table",
        "crosstab",
        "crosstab2",
        "crosstab3",
        "crosstab4",
        "connectby",
    }
)
# Server, file-system, session and sequence side effects, and SQLite extension loading.
_SIDE_EFFECTS = frozenset(
    {
        "set_config",
        "setseed",
        "nextval",
        "setval",
        "currval",
        "lastval",
        "txid_current",
        "pg_current_xact_id",
        "pg_notify",
        "pg_sleep",
        "pg_execute_server_program",
        "pg_stat_file",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_switch_wal",
        "pg_promote",
        "pg_import_system_collations",
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fts3_tokenizer",
    }
)
_NEVER_PREFIXES = (
    "dblink",
    "lo_",
    "pg_read_",
    "pg_ls_",
    "pg_file_",
    "pg_sleep",
    "pg_advisory",
    "pg_try_advisory",
    "pg_stat_reset",
    "pg_logical_",
    "pg_replication_",
    "pg_create_",
    "pg_drop_",
    "pg_backup_",
    "pg_wal_",
    "pg_logdir",
    "crosstab",
    "xpath",
)


def never_allowed(name: str) -> bool:
    """Whether ``name`` (any case, optionally schema-qualified) can never be allowed."""
    bare = name.lower().rsplit(".", 1)[-1]
    return bare in _SQL_TEXT_RUNNERS or bare in _SIDE_EFFECTS or bare.startswith(_NEVER_PREFIXES)


def is_function_allowed(
    name: str,
    dialect: Literal["sqlite", "postgres"],
    extra: Iterable[str] = (),
    *,
    schema: str | None = None,
) -> bool:
    """Whether a read-only query may call ``name``.

    Args:
        name: The function name as written (compared case-insensitively).
        dialect: ``sqlite`` or ``postgres``.
        extra: Names added by the target database's ``allowed_functions`` (lower case; a
            PostgreSQL entry may be ``schema.function``).
        schema: The schema the call is qualified with, if any. A qualified built-in is allowed
            only under ``pg_catalog``; any other qualifier must be listed whole in ``extra``.

    Returns:
        ``True`` when the function is on the allow-list and not one of the never-allowed names.
    """
    bare = name.lower()
    if never_allowed(bare):
        return False
    extras = frozenset(extra)
    if schema is not None:
        qualifier = schema.lower()
        if f"{qualifier}.{bare}" in extras:
            return True
        return dialect == "postgres" and qualifier == "pg_catalog" and bare in POSTGRES_FUNCTIONS
    builtins = POSTGRES_FUNCTIONS if dialect == "postgres" else SQLITE_FUNCTIONS
    return bare in builtins or bare in extras


def check_allowed_function_names(names: Iterable[str], field: str) -> tuple[str, ...]:
    """Return configured ``allowed_functions`` lower-cased, refusing the never-allowed ones.

    The descriptor model already checked that each entry is a (qualified) identifier.

    Args:
        names: The configured names (``name`` or ``schema.name``).
        field: Dotted field path named in the message.

    Raises:
        DataEnvironmentError: A name is one of the functions that can never be allowed (they
            run SQL text or have side effects outside a read-only query).
    """
    out: dict[str, None] = {}
    for name in names:
        lowered = str(name).strip().lower()
        if never_allowed(lowered):
            raise DataEnvironmentError(
                f"{field}: {lowered} cannot be allowed: it runs SQL text or has side effects "
                "outside a read-only query"
            )
        out[lowered] = None
    return tuple(out)
