"""Open Inference Protocol tensors: JSON `data` or the binary tensor extension, both ways.

With the extension, a body is a JSON header of `Inference-Header-Content-Length` bytes, then the
raw bytes of each tensor whose `parameters.binary_data_size` says so, in order: little-endian
values, or for BYTES each element as a 4-byte little-endian length and its bytes (Triton's and
`tritonclient`'s layout).
"""

from __future__ import annotations

import contextlib
import math
import struct
from typing import Any

import numpy as np

from api.protocols.bodies import bad, json_object

#: Datatypes by their protocol names.
DTYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}
HEADER_LENGTH = "inference-header-content-length"


def split_body(raw: bytes, header_length: str | None) -> tuple[dict[str, Any], memoryview]:
    """The JSON header of a request as an object, and the binary part after it."""
    size = len(raw)
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(raw):
            raise bad("the Inference-Header-Content-Length header does not fit the body")
        size = int(header_length)
    return json_object(raw[:size]), memoryview(raw)[size:]


class TensorReader:
    """Reads the inputs of one request, taking binary parts in the order they come."""

    def __init__(self, binary: memoryview) -> None:
        self.binary = binary
        self.offset = 0

    def values(self, tensor: dict[str, Any]) -> tuple[list[int], np.ndarray]:
        """The tensor's shape and its values as a flat array (floats, or objects for BYTES)."""
        name, shape, datatype = _described(tensor)
        count = math.prod(shape)
        parameters = tensor.get("parameters") or {}
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is not None:
            flat = self._binary(name, datatype, size)
        elif "data" in tensor:
            flat = _json_values(name, datatype, tensor["data"])
        else:
            raise bad(f"input {name!r} has neither data nor binary_data_size")
        if flat.size != count:
            raise bad(f"input {name!r} has {flat.size} values; its shape {shape} needs {count}")
        return shape, flat

    def _binary(self, name: str, datatype: str, size: Any) -> np.ndarray:
        if not isinstance(size, int) or size < 0 or self.offset + size > len(self.binary):
            raise bad(f"input {name!r}: binary_data_size does not fit the body")
        part = self.binary[self.offset : self.offset + size]
        self.offset += size
        if datatype == "BYTES":
            return np.array(_split_bytes(name, bytes(part)), dtype=object)
        dtype = np.dtype(DTYPES[datatype]).newbyteorder("<")
        if size % dtype.itemsize:
            raise bad(f"input {name!r}: {size} bytes are not whole {datatype} values")
        return np.frombuffer(part, dtype=dtype).astype(np.float64)


def encode_binary(values: list[Any], datatype: str) -> bytes:
    """A flat output tensor as the extension's raw bytes."""
    if datatype == "BYTES":
        parts = [str(value).encode() for value in values]
        return b"".join(struct.pack("<I", len(part)) + part for part in parts)
    return np.asarray(values, dtype=np.dtype(DTYPES[datatype]).newbyteorder("<")).tobytes()


def _described(tensor: Any) -> tuple[str, list[int], str]:
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise bad("each input must be an object with a name, shape and datatype")
    name, shape, datatype = tensor["name"], tensor.get("shape"), tensor.get("datatype")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise bad(f"input {name!r} needs a shape: a list of sizes")
    if datatype not in DTYPES:
        raise bad(f"input {name!r} has datatype {datatype!r}; use one of {', '.join(DTYPES)}")
    return name, shape, datatype


def _json_values(name: str, datatype: str, data: Any) -> np.ndarray:
    if datatype == "BYTES":
        return np.array([_text(value) for value in _flatten(data)], dtype=object)
    with contextlib.suppress(ValueError, TypeError):  # ragged lists: read value by value below
        array = np.array(data)  # numbers (flat or nested) in one pass in C
        if array.dtype.kind in _NUMBER_KINDS:
            return array.astype(np.float64, copy=False).reshape(-1)
    flat = _flatten(data)  # strings, nulls, huge integers or ragged lists: name the culprit
    if not set(map(type, flat)) <= _NUMBERS:  # one pass in C; the loop only names the culprit
        for value in flat:
            if type(value) not in _NUMBERS:
                raise bad(
                    f"input {name!r} holds {value!r}, not a number: its datatype is {datatype}"
                )
    try:
        return np.asarray(flat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise bad(f"input {name!r} holds a value that is not a number: {exc}") from exc


#: NumPy's kinds of the arrays JSON numbers and booleans make: bool, int, uint, float.
_NUMBER_KINDS = frozenset("biuf")
#: What JSON numbers (and booleans) decode to.
_NUMBERS = frozenset((int, float, bool))


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if list not in set(map(type, data)):
        return data
    return [value for item in data for value in _flatten(item)]


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _split_bytes(name: str, part: bytes) -> list[str]:
    values, offset = [], 0
    while offset < len(part):
        if offset + 4 > len(part):
            raise bad(f"input {name!r}: a BYTES element is cut short")
        (length,) = struct.unpack_from("<I", part, offset)
        offset += 4
        if offset + length > len(part):
            raise bad(f"input {name!r}: a BYTES element is cut short")
        try:
            values.append(part[offset : offset + length].decode())
        except UnicodeDecodeError as exc:
            raise bad(f"input {name!r}: a BYTES element is not UTF-8 text") from exc
        offset += length
    return values
