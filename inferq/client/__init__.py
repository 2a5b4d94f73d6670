"""The inferq Python client: `Client` (blocking) and `AsyncClient` (asyncio).

from inferq.client import Client
with Client() as client:                      # INFERQ_URL, INFERQ_API_KEY
    scored = client.score(frame, model="iris")
"""

from inferq.client.aio import AsyncClient
from inferq.client.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InferqError,
    JobFailed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from inferq.client.protocol import Job, JobEvent, JobPage
from inferq.client.sync import Client

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "InferqError",
    "Job",
    "JobEvent",
    "JobFailed",
    "JobPage",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "ValidationFailed",
]
