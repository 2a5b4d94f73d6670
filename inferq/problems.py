"""Client mistakes found while reading input: each names the field, column or row."""

from __future__ import annotations

from typing import Any

#: Errors listed in one answer at most; the detail says how many there were in all.
MAX_LISTED_ERRORS = 50


class InputProblem(ValueError):
    """Input that cannot be scored; `errors` name each place (`loc`) and what is wrong (`msg`)."""

    def __init__(self, title: str, errors: list[dict[str, Any]], status: int = 422) -> None:
        super().__init__(title)
        self.title = title
        self.status = status
        self.total = len(errors)
        self.errors = errors[:MAX_LISTED_ERRORS]

    @property
    def detail(self) -> str:
        """A one-line summary: the first error and how many there are."""
        if not self.errors:
            return self.title
        first = self.errors[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {self.total - 1} more)" if self.total > 1 else ""
        return f"{where}: {first['msg']}{more}"
