"""`inferq keys create|list|revoke` against a real API."""

from __future__ import annotations

import pytest

from inferq.cli import main
from inferq.cli_errors import ExitCode
from tests.helpers import assert_problem
from tests.stack import Stack


def run(capsys: pytest.CaptureFixture[str], stack: Stack, *argv: str) -> tuple[int, str, str]:
    """Run `inferq keys ...` with the stack's URL and admin key; exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exited:
        main(["keys", *argv, "--url", stack.api_url, "--api-key", stack.admin_key])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_create_list_revoke_round_trip(capsys: pytest.CaptureFixture[str], stack: Stack) -> None:
    """A key made with the CLI works, is listed by id without its secret, and revoking stops it."""
    code, out, err = run(capsys, stack, "create", "--tenant", "cli-acme", "--scope", "jobs:read")
    assert code == 0 and "shown only now" in err
    key = out.strip()
    key_id = err.split()[1]
    with stack.client(key) as client:
        assert client.get("/v1/jobs").status_code == 200
        code, out, _ = run(capsys, stack, "list", "--tenant", "cli-acme")
        assert code == 0 and key_id in out and "jobs:read" in out and key not in out
        code, _, err = run(capsys, stack, "revoke", key_id)
        assert code == 0 and key_id in err
        assert_problem(client.get("/v1/jobs"), 401)


def test_errors_are_reported_not_raised(capsys: pytest.CaptureFixture[str], stack: Stack) -> None:
    """A refused call prints the problem and exits 3: unknown key id, or no admin key."""
    code, _, err = run(capsys, stack, "revoke", "key_nope")
    assert code == ExitCode.API_ERROR and "404" in err and "key_nope" in err
    with pytest.raises(SystemExit) as exited:
        main(["keys", "list", "--url", stack.api_url, "--api-key", "iqk_wrong"])
    assert exited.value.code == ExitCode.API_ERROR
    err = capsys.readouterr().err
    assert "401" in err and "INFERQ_API_KEY" in err
