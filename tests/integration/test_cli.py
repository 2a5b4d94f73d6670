"""The `inferq` command against the real stack: output, progress and exit codes."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

from inferq.cli import build_parser
from inferq.cli_errors import ExitCode
from inferq.client import Client
from inferq.redis_server import free_port
from tests.helpers import TenantClients, demo_rows, reference_model, submit, wait_for
from tests.stack import ROOT, Stack


def inferq(
    stack: Stack, *args: str, url: str | None = None, key: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the `inferq` command (as its module) against the stack's API with its admin key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERQ_")}
    env.update(INFERQ_URL=url or stack.api_url, PYTHONPATH=str(ROOT), COLUMNS="120")
    env["INFERQ_API_KEY"] = stack.admin_key if key is None else key
    return subprocess.run(
        [sys.executable, "-m", "inferq.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*path, name))
    return found


@pytest.mark.parametrize("command", _commands(build_parser()), ids=" ".join)
def test_every_command_has_help(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--help` works on every command and subcommand and exits 0."""
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: inferq" in capsys.readouterr().out


def test_jobs_list_show_and_wait(stack: Stack) -> None:
    """A finished job is listed, shown as JSON, and `wait` exits 0 for it."""
    with Client(stack.api_url, api_key=stack.admin_key) as client:
        job = client.submit(demo_rows("iris", 8), "iris")
    waited = inferq(stack, "jobs", "wait", job.id)
    assert waited.returncode == ExitCode.OK, waited.stderr
    assert "succeeded" in waited.stderr
    listed = inferq(stack, "jobs", "list", "--model", "iris")
    assert listed.returncode == 0 and job.id in listed.stdout
    shown = inferq(stack, "jobs", "show", job.id)
    assert json.loads(shown.stdout)["progress"]["rows_done"] == 8
    as_json = json.loads(inferq(stack, "jobs", "list", "--json", "--limit", "1").stdout)
    assert as_json["data"][0]["id"]


def test_results_are_saved_in_the_format_of_the_file_name(stack: Stack, tmp_path: Path) -> None:
    """`jobs results -o x.parquet` writes Parquet with the scored rows."""
    rows = demo_rows("iris", 10, seed=7)
    with Client(stack.api_url, api_key=stack.admin_key) as client:
        job = client.wait(client.submit(rows, "iris").id, timeout=60)
    out = tmp_path / "scored.parquet"
    done = inferq(stack, "jobs", "results", job.id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    predicted = pd.read_parquet(out)["prediction"].tolist()
    assert predicted == reference_model("iris").predict(rows).tolist()


def test_api_errors_exit_3_unreachable_4_usage_2(stack: Stack, tmp_path: Path) -> None:
    """Unknown job: 3 with the problem detail; nothing listening: 4; bad arguments: 2."""
    missing = inferq(stack, "jobs", "show", "job_01JAAAAAAAAAAAAAAAAAAAAAAA")
    assert missing.returncode == ExitCode.API_ERROR
    assert "Job not found" in missing.stderr
    down = inferq(stack, "jobs", "list", url=f"http://127.0.0.1:{free_port()}")
    assert down.returncode == ExitCode.UNAVAILABLE and "unreachable" in down.stderr
    assert inferq(stack, "jobs", "frobnicate").returncode == ExitCode.USAGE
    no_file = inferq(stack, "score", str(tmp_path / "absent.csv"), "-m", "iris")
    assert no_file.returncode == ExitCode.USAGE


def test_the_api_key_comes_from_the_flag_or_the_environment(stack: Stack) -> None:
    """No key: 401, exit 3 and a hint; a wrong INFERQ_API_KEY is overridden by --api-key."""
    keyless = inferq(stack, "jobs", "list", key="")
    assert keyless.returncode == ExitCode.API_ERROR
    assert "401" in keyless.stderr and "INFERQ_API_KEY" in keyless.stderr
    wrong = inferq(stack, "jobs", "list", key="iqk_wrong")
    assert wrong.returncode == ExitCode.API_ERROR and "401" in wrong.stderr
    flagged = inferq(stack, "jobs", "list", "--api-key", stack.admin_key, key="iqk_wrong")
    assert flagged.returncode == ExitCode.OK, flagged.stderr


def test_timeout_cancel_and_failed_job_exit_codes(isolated_stack: Stack) -> None:
    """Still queued after --timeout: 5; cancel: 0 and cancelled; a failed job: 1."""
    url = isolated_stack.start_api()
    with Client(url, api_key=isolated_stack.admin_key) as client:
        waiting = client.submit(demo_rows("iris", 5), "iris")
        doomed = client.submit(demo_rows("iris", 5), "iris")
    isolated_stack.redis().delete(f"inferq:job:{doomed.id}:input")
    timed_out = inferq(isolated_stack, "jobs", "wait", waiting.id, "--timeout", "0.5")
    assert timed_out.returncode == ExitCode.TIMEOUT, timed_out.stderr
    assert inferq(isolated_stack, "jobs", "cancel", waiting.id).returncode == ExitCode.OK
    assert (
        json.loads(inferq(isolated_stack, "jobs", "show", waiting.id).stdout)["status"]
        == "cancelled"
    )
    isolated_stack.start_worker(concurrency=1)
    failed = inferq(isolated_stack, "jobs", "wait", doomed.id)
    assert failed.returncode == ExitCode.JOB_FAILED
    assert "input rows are gone" in failed.stderr


def test_score_uploads_follows_and_saves(stack: Stack, tmp_path: Path) -> None:
    """`inferq score data.csv -m iris -o scored.csv` shows its bars and saves the scored rows."""
    rows = demo_rows("iris", 500, seed=8)
    rows.insert(0, "id", range(500))
    source, out = tmp_path / "data.csv", tmp_path / "scored.csv"
    rows.to_csv(source, index=False)
    done = inferq(stack, "score", str(source), "-m", "iris", "-o", str(out), "--passthrough", "id")
    assert done.returncode == ExitCode.OK, done.stderr
    assert "upload" in done.stderr and "scoring" in done.stderr and "download" in done.stderr
    scored = pd.read_csv(out)
    assert scored["id"].tolist() == list(range(500))
    expected = reference_model("iris").predict(rows.drop(columns="id")).tolist()
    assert scored["prediction"].tolist() == expected


def test_score_run_again_with_its_idempotency_key_follows_the_first_job(
    stack: Stack, tmp_path: Path
) -> None:
    """A pipeline that runs `inferq score` again with the same key and file (it crashed after
    the upload) gets the first run's job, not a second scoring of the file."""
    source = tmp_path / "data.csv"
    demo_rows("iris", 50, seed=9).to_csv(source, index=False)
    key = f"run-{uuid.uuid4()}"
    runs = [
        inferq(stack, "score", str(source), "-m", "iris", "--no-wait", "--idempotency-key", key)
        for _ in range(2)
    ]
    assert all(run.returncode == ExitCode.OK for run in runs), runs[-1].stderr
    assert runs[0].stdout.strip() == runs[1].stdout.strip()
    assert runs[0].stdout.strip().startswith("job_")


def test_usage_prints_the_tenants_usage_per_model_and_refuses_a_bad_date(stack: Stack) -> None:
    """`inferq usage --group-by model` prints a line for iris with the rows a tenant scored,
    and the total; `--json` prints the API's answer; a bad date exits 3 naming `from`."""
    clients = TenantClients(stack)
    try:
        client = clients()
        rows = demo_rows("iris", 4, seed=4).to_dict("records")
        job = submit(client, {"model": "iris", "dataframe_records": rows})
        wait_for(client, job["id"])
        key = client.headers["authorization"].removeprefix("Bearer ")
        shown = inferq(stack, "usage", "--group-by", "model", key=key)
        assert shown.returncode == 0, shown.stderr
        lines = {line.split()[0]: line.split() for line in shown.stdout.splitlines()[1:]}
        assert lines["MODEL"][:4] == ["MODEL", "JOBS", "SYNC", "ROWS"]
        assert lines["iris"][1:5] == ["1", "0", "4", "0"] and lines["TOTAL"][3] == "4"
        report = json.loads(inferq(stack, "usage", "--json", key=key).stdout)
        assert report["tenant"] == client.tenant and report["total"]["rows_scored"] == 4  # type: ignore[attr-defined]
        bad = inferq(stack, "usage", "--from", "2025-02-30", key=key)
        assert bad.returncode == ExitCode.API_ERROR and "from" in bad.stderr, bad.stderr
    finally:
        clients.close()
