"""Needs-and-seeds matching engine for Japanese industry–academia–government collaboration.

The engine knows nothing of the web or of databases: it takes texts with ids,
builds derived indexes, and ranks university partners. `matcher.engine.Engine`
is the façade that the CLI and the API call.
"""
