"""The built-in catalog toolkit: the seven tools agents call over a data environment."""
