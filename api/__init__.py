"""HTTP service over the matching engine: FastAPI + SQLModel.

The database is the source of truth; the engine's indexes are derived from it.
This package may import `matcher`, never the reverse.
"""
