"""Knowledge ingestion: documents from a local folder, extracted knowledge items, and their
projection into the catalog."""
