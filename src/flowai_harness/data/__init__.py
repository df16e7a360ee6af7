"""Data adapters: catalog, search index, target database and the built-in catalog toolkit."""
