"""The model registry: versions, aliases, schemas and safe loading of scikit-learn models."""
