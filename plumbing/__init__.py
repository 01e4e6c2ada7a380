"""Shared plumbing of every smsbounce service: imports nothing of the services."""
