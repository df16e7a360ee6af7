"""Profiling a target database into the catalog: schema, statistics, enrichment and entries."""
