"""Who may upload what, and which skops types need the uploader's trust."""

from __future__ import annotations

import pytest

from models.policy import UntrustedTypes, UploadForbidden, check_trusted, check_upload_allowed
from tests.model_fixtures import DOUBLE_TYPE, categorical_pipeline, doubling_pipeline, skops_bytes

WRITER = frozenset({"models:write", "jobs:write"})
ADMIN = frozenset({"admin"})


@pytest.mark.parametrize("fmt", ["joblib", "pickle"])
def test_unsafe_formats_are_for_admins_only(fmt: str) -> None:
    """A models:write key may not upload joblib or pickle; an admin key may."""
    with pytest.raises(UploadForbidden, match="only an admin"):
        check_upload_allowed(fmt, shared=False, scopes=WRITER)
    check_upload_allowed(fmt, shared=False, scopes=ADMIN)


def test_skops_is_open_to_model_writers_but_sharing_is_not() -> None:
    """skops needs only models:write; shared=true needs admin."""
    check_upload_allowed("skops", shared=False, scopes=WRITER)
    with pytest.raises(UploadForbidden, match="shared"):
        check_upload_allowed("skops", shared=True, scopes=WRITER)


def test_untrusted_skops_types_must_be_named() -> None:
    """A custom function in a skops file is refused until the uploader names it."""
    artifact = skops_bytes(doubling_pipeline())
    with pytest.raises(UntrustedTypes) as caught:
        check_trusted(artifact, [])
    assert caught.value.types == [DOUBLE_TYPE] and DOUBLE_TYPE in str(caught.value)
    check_trusted(artifact, [DOUBLE_TYPE])
    check_trusted(skops_bytes(categorical_pipeline()), [])
