"""Helpers for the Japanese web pages (api/routes/pages.py): signed-cookie sessions, CSRF, highlighting."""
