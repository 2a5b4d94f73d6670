"""What a model expects and returns: its input columns and output kind.

The API checks rows against it, the workers read files by it and the registry stores it; how it
is read from a fitted model is `models.schema.describe`'s business.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FeatureType = Literal["number", "string"]
ContributionsMethod = Literal["exact", "approximate"]
"""How tree contributions are computed: `exact` TreeSHAP, or `approximate` Saabas path
attributions (each row's path once per tree). Both sum to the raw margin; linear models' are
exact either way."""


@dataclass
class Feature:
    """One input column: its name and whether it holds numbers or category strings."""

    name: str
    type: FeatureType = "number"


@dataclass
class ModelSchema:
    """A model's input columns and output kind, as the API shows and validates them."""

    features: list[Feature]
    task: Literal["classification", "regression"]
    classes: list[Any] | None = None
    allow_nan: bool = False
    """Whether missing numeric values (null, empty CSV fields) may be passed to the model."""
    contributions: str | None = None
    """How per-feature contributions are computed (`tree`, `linear`), or None: not available."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """Input column names in the order the model was fitted with."""
        return [feature.name for feature in self.features]

    @property
    def string_features(self) -> set[str]:
        """Names of the features that hold category strings."""
        return {feature.name for feature in self.features if feature.type == "string"}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSchema:
        """Rebuild from `to_dict` output."""
        features = [Feature(**feature) for feature in data["features"]]
        return cls(**{**data, "features": features})
