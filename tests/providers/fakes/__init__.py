"""Fake provider servers for the live-provider tests."""
