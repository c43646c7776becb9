"""The node's HTTP API (`/api/v1`), built on FastAPI."""
