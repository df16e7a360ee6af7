"""One workload module per framework; each runs as its own process (see ``_common.main``)."""
