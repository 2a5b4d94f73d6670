"""Webhooks: the tenant's signing secrets, and each job's deliveries with redelivery."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, DeliveriesDep, JobsRead, JobsWrite, SettingsDep, StoreDep
from api.deps import WebhookSecretsDep as SecretsDep
from api.errors import AUTHENTICATED_PROBLEMS, Problem, problem_responses
from api.reads.jobs import load_job
from api.routes.openapi_links import link
from api.schemas import (
    DeliveryAttempt,
    DeliveryList,
    DeliveryPublic,
    WebhookSecretCreate,
    WebhookSecretCreated,
    WebhookSecretList,
    WebhookSecretPublic,
)
from inferq.timefmt import rfc3339
from inferq.webhooks.deliveries import Delivery, DeliveryStore, now_ms
from inferq.webhooks.secrets import WebhookSecret

router = APIRouter(tags=["webhooks"], responses=AUTHENTICATED_PROBLEMS)


_SECRET = "/v1/webhook-secrets/{secret_id}"
_REVOKE = link(_SECRET, "delete", "Revoke it", secret_id="$response.body#/id")


@router.post(
    "/v1/webhook-secrets",
    status_code=201,
    response_model=WebhookSecretCreated,
    summary="Create or rotate the webhook secret",
    responses={201: {"links": {"RevokeWebhookSecret": _REVOKE}}},
)
async def create_secret(
    principal: Admin,
    secrets: SecretsDep,
    settings: SettingsDep,
    body: WebhookSecretCreate | None = None,
) -> WebhookSecretCreated:
    """A new current secret, shown once; the ones in use keep signing for the overlap period."""
    overlap = body.previous_valid_seconds if body else None
    if overlap is None:
        overlap = settings.webhook_secret_overlap_seconds
    created = await run_in_threadpool(secrets.rotate, principal.tenant, overlap)
    return WebhookSecretCreated(**_secret_public(created).model_dump(), secret=created.secret)


@router.get("/v1/webhook-secrets", response_model=WebhookSecretList, summary="List secrets")
async def list_secrets(principal: Admin, secrets: SecretsDep) -> WebhookSecretList:
    """The secrets signing deliveries now, without their values."""
    found = await run_in_threadpool(secrets.listed, principal.tenant)
    return WebhookSecretList(data=[_secret_public(s) for s in found])


@router.delete(
    "/v1/webhook-secrets/{secret_id}",
    status_code=204,
    summary="Revoke a secret",
    responses=problem_responses(404),
)
async def revoke_secret(secret_id: str, principal: Admin, secrets: SecretsDep) -> Response:
    """Stop signing with a secret at once."""
    if not await run_in_threadpool(secrets.revoke, principal.tenant, secret_id):
        raise Problem(404, f"no webhook secret {secret_id}", title="Secret not found")
    return Response(status_code=204)


@router.get(
    "/v1/jobs/{job_id}/deliveries",
    response_model=DeliveryList,
    summary="Webhook deliveries",
    responses=problem_responses(404),
)
async def list_deliveries(
    job_id: str, request: Request, principal: JobsRead, store: StoreDep, deliveries: DeliveriesDep
) -> DeliveryList:
    """The job's webhook deliveries with every attempt (empty until the first attempt starts)."""
    await load_job(store, job_id, principal.tenant)
    public = await run_in_threadpool(_delivery_public, deliveries, job_id, str(request.base_url))
    return DeliveryList(data=[public] if public else [])


@router.post(
    "/v1/jobs/{job_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryPublic,
    summary="Send a delivery again",
    responses=problem_responses(404),
)
async def redeliver(
    job_id: str,
    delivery_id: str,
    request: Request,
    principal: JobsWrite,
    store: StoreDep,
    deliveries: DeliveriesDep,
) -> DeliveryPublic:
    """Queue one more attempt now (same `webhook-id`, fresh timestamp and signature)."""
    await load_job(store, job_id, principal.tenant)
    public = await run_in_threadpool(_delivery_public, deliveries, job_id, str(request.base_url))
    if public is None or public.id != delivery_id:
        raise Problem(404, f"job {job_id} has no delivery {delivery_id}", title="Not found")
    await run_in_threadpool(deliveries.redeliver, job_id, now_ms())
    return public


def _delivery_public(
    deliveries: DeliveryStore, job_id: str, base_url: str
) -> DeliveryPublic | None:
    delivery = deliveries.get(job_id)
    if delivery is None:
        return None
    return delivery_public(delivery, deliveries.attempts(job_id), base_url)


def delivery_public(delivery: Delivery, attempts: list[dict], base_url: str) -> DeliveryPublic:
    """The delivery as the API shows it (the signed body is not repeated)."""
    base = f"{base_url.rstrip('/')}/v1/jobs/{delivery.job_id}/deliveries"
    return DeliveryPublic(
        id=delivery.id,
        event=delivery.event,  # type: ignore[arg-type]
        url=delivery.url,
        status=delivery.status,  # type: ignore[arg-type]
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at or None,
        attempts=[DeliveryAttempt(**a) for a in attempts],
        links={"self": base, "redeliver": f"{base}/{delivery.id}/redeliver"},
    )


def _secret_public(secret: WebhookSecret) -> WebhookSecretPublic:
    return WebhookSecretPublic(
        id=secret.id,
        created_at=rfc3339(secret.created_at),
        expires_at=rfc3339(secret.expires_at) if secret.expires_at is not None else None,
        current=secret.expires_at is None,
    )
