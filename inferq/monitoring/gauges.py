"""The drift gauges `/metrics` exports, from the PSI the workers' drift check last computed."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from inferq.monitoring.reference import PREDICTION


def drift_gauges(fields: dict[str, str]) -> Iterator[Metric]:
    """`inferq_feature_drift_psi{model,version,feature}` and
    `inferq_prediction_drift_psi{model,version}`, over the last hour."""
    features = GaugeMetricFamily(
        "inferq_feature_drift_psi",
        "PSI of a feature over the last hour against the version's reference.",
        labels=["model", "version", "feature"],
    )
    predictions = GaugeMetricFamily(
        "inferq_prediction_drift_psi",
        "PSI of the predictions over the last hour against the version's reference.",
        labels=["model", "version"],
    )
    for field, value in sorted(fields.items()):
        model, version, feature = field.split("|", 2)
        if feature == PREDICTION:
            predictions.add_metric([model, version], float(value))
        else:
            features.add_metric([model, version, feature], float(value))
    yield features
    yield predictions
