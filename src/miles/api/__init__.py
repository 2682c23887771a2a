"""The HTTP API: FastAPI app, routers, request and response shapes, error mapping."""
