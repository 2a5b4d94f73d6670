"""Browser-form uploads: `multipart/form-data` with a `file` part and option fields."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser

from api.submit.file_options import options_from_fields
from api.submit.upload_idempotency import FileUpload
from inferq.files.formats import FileFormat, format_of_media, format_of_name
from inferq.problems import InputProblem

READ_BYTES = 1024 * 1024
_NAMED: dict[str, FileFormat] = {"csv": "csv", "parquet": "parquet", "jsonl": "jsonl"}


@asynccontextmanager
async def open_multipart(
    request: Request, body: AsyncGenerator[bytes, None]
) -> AsyncIterator[FileUpload]:
    """The form's file (spooled to disk past 1 MiB by the parser) and options from the request
    `body`'s pieces, until the block ends."""
    form = await MultiPartParser(request.headers, body, max_files=1, max_fields=50).parse()
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _problem(["form", "file"], "a form upload needs a `file` part")
        fields = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
        fmt = _format(upload, str(form.get("format") or ""))
        yield FileUpload(fmt, options_from_fields(fields, "form"), _pieces(upload))
    finally:
        await form.close()


def _format(upload: UploadFile, named: str) -> FileFormat:
    fmt = (
        _NAMED.get(named)
        or format_of_media(upload.content_type)
        or format_of_name(upload.filename or "")
    )
    if fmt is None:
        raise _problem(["form", "file"], "say the format (csv, parquet, jsonl) by type or name")
    return fmt


async def _pieces(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(READ_BYTES):
        yield data


def _problem(loc: list[str], msg: str) -> InputProblem:
    return InputProblem("Invalid upload", [{"loc": loc, "msg": msg}])
