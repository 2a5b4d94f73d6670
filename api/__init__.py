"""The HTTP face of inferq (FastAPI)."""
