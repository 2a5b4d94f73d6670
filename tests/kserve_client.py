"""Call inferq with KServe's own `InferenceRESTClient`; run by the KServe virtualenv's Python.

`python tests/kserve_client.py <base url> <key>` reads a JSON list of calls on stdin and prints
the list of their results as JSON on stdout (one process for many calls: importing kserve takes
seconds). A call names the `protocol` (`v1` or `v2`) and what to do:

- `{"call": "predict", "model": m, "body": {...}}`: v1 `infer` (`:predict`) of a JSON body;
- `{"call": "explain", "model": m, "body": {...}}`: v1 `explain`;
- `{"call": "infer", "model": m, "rows": [[...]], "binary": bool, "outputs": [...]}`: v2 `infer`
  of an `InferRequest` with one FP64 [N, F] tensor, outputs asked for by name;
- `{"call": "ready", "model": m}`: `is_server_live`, `is_server_ready` (v2) and `is_model_ready`.

The key goes in `RESTConfig(auth=...)`; a call's own `"key"` replaces it, and an empty one sends
no Authorization header. An error status surfaces as KServe's client raises
it, an `httpx.HTTPStatusError`, printed as `{"raised": type, "status": code, "message": text}`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Generator
from typing import Any

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput


class Bearer(httpx.Auth):
    """The inferq key as a bearer token, on every request the client sends."""

    def __init__(self, key: str) -> None:
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.key}"
        yield request


async def infer_v2(client: InferenceRESTClient, base: str, call: dict[str, Any]) -> dict[str, Any]:
    """A v2 infer of one FP64 [N, F] tensor; the response's id, model name and outputs."""
    values = np.asarray(call["rows"], dtype=np.float64)
    tensor = InferInput("input-0", list(values.shape), "FP64")
    tensor.set_data_from_numpy(values, binary_data=call.get("binary", False))
    outputs = [
        RequestedOutput(name, {"binary_data": call.get("binary", False)})
        for name in call.get("outputs", [])
    ]
    request = InferRequest(
        call["model"], [tensor], request_id=call.get("id"), request_outputs=outputs or None
    )
    response = await client.infer(base, request, model_name=call["model"])
    answers = {}
    for output in response.outputs:
        array = output.as_numpy()
        if array.dtype == object:
            array = np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v)(array)
        answers[output.name] = {"datatype": output.datatype, "data": array.tolist()}
    return {
        "id": response.id,
        "model_name": response.model_name,
        "outputs": answers,
    }


async def run(base: str, key: str, call: dict[str, Any]) -> dict[str, Any]:
    """Make `call` with a client of `call["protocol"]`."""
    key = call.get("key", key)
    config = RESTConfig(protocol=call["protocol"], auth=Bearer(key) if key else None, timeout=60)
    async with InferenceRESTClient(config) as client:
        try:
            if call["call"] == "predict":
                return await client.infer(base, call["body"], model_name=call["model"])
            if call["call"] == "explain":
                return await client.explain(base, call["model"], call["body"])
            if call["call"] == "infer":
                return await infer_v2(client, base, call)
            answer = {"model_ready": await client.is_model_ready(base, call["model"])}
            if call["protocol"] == "v2":
                answer["server_live"] = await client.is_server_live(base)
                answer["server_ready"] = await client.is_server_ready(base)
            return answer
        except httpx.HTTPStatusError as error:
            return {
                "raised": type(error).__name__,
                "status": error.response.status_code,
                "message": str(error),
            }


async def main(base: str, key: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each call's result, in order."""
    return [await run(base, key, call) for call in calls]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], json.load(sys.stdin)))))
