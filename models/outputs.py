"""Which outputs a model version can give, checked when a job is submitted."""

from __future__ import annotations

from collections.abc import Collection

from inferq.problems import InputProblem
from inferq.schema import ModelSchema
from models.formats.base import CONTRIBUTION_KINDS


def check_outputs(schema: ModelSchema, outputs: Collection[str], where: str = "body") -> None:
    """Refuse `contributions` (422) for a model whose contributions inferq cannot compute."""
    if "contributions" in outputs and schema.contributions is None:
        msg = f"this model does not give contributions; they are available for {CONTRIBUTION_KINDS}"
        raise InputProblem("Output not available", [{"loc": [where, "outputs"], "msg": msg}])
