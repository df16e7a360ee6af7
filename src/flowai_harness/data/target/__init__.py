"""The target database: the read-only source of samples and agent queries, its backends and the
SQL guards in front of them."""
