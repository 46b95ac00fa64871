"""``tideway runs`` (issue 19) without a server: the trace tree, the runs table, the run header,
the arguments, and the commands against a stand-in API (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cli import connection
from cli.app import run
from cli.commands.runs import list_params
from cli.connection import DEFAULT_URL, Connection, resolve_connection
from cli.runs_render import (
    ASCII,
    UNICODE,
    format_duration,
    one_line_json,
    render_run,
    render_runs,
    render_trace,
    symbols_for,
)


def step(path: str, instruction: str = "set", depth: int = 1, duration: int = 1, outcome: str = "ok",
         **extra: Any) -> dict[str, Any]:
    return {"path": path, "instruction": instruction, "automation": "main", "instance": "", "depth": depth,
            "start": 0, "duration": duration, "outcome": outcome, **extra}


def indents(lines: list[str]) -> list[int]:
    return [(len(line) - len(line.lstrip(" "))) // 2 for line in lines]


# ---- the trace tree -------------------------------------------------------------------------


def test_blocks_nest_by_path_prefix_and_calls_by_depth() -> None:
    steps = [
        step("do[0]"),
        step("do[1]", "conditions"),
        step("do[1].conditions['{{x}} > 1'][0]", "callee"),  # a call inside the block
        step("do[0]", "set", depth=2),  # the callee's steps
        step("do[1]", "repeat", depth=2),
        step("do[1].repeat.do[0]", "set", depth=2, iteration=0),
        step("do[2]", "emit", depth=2),
        step("do[1].conditions['{{x}} > 1'][1]", "set"),  # back in the caller's block
        step("do[10]", "set"),  # not a child of do[1]: "do[1]" + "." is not its prefix
    ]
    lines = render_trace(steps)
    assert indents(lines) == [0, 0, 1, 2, 2, 3, 2, 1, 0]
    assert lines[0] == "✓ set  do[0]  1 ms"
    assert lines[5].strip() == "✓ set  do[1].repeat.do[0]  1 ms  [#0]"


def test_failed_and_break_steps_are_marked_with_the_error() -> None:
    lines = render_trace([
        step("do[0]", "repeat"),
        step("do[0].repeat.do[0]", "break", outcome="break", iteration=3),
        step("do[1]", "fetch", duration=2150, outcome="error",
             error={"error": "FetchError", "message": "connection refused"}),
    ])
    assert lines[1] == "  ↩ break  do[0].repeat.do[0]  1 ms  [#3]"
    assert lines[2] == "✗ fetch  do[1]  2150 ms  FetchError: connection refused"


def test_cancelled_and_unfinished_steps_of_a_live_trace() -> None:
    live = step("do[0].try.do[0]", "wait")
    del live["duration"]  # a step still running has no duration yet
    lines = render_trace([step("do[0]", "try", outcome="cancelled"), live])
    assert lines == ["⊘ try  do[0]  1 ms", "  ▸ wait  do[0].try.do[0]  running"]
    assert [line.split()[0] for line in render_trace([step("do[0]", outcome="cancelled"), live], ASCII)] == ["-", ">"]


def test_a_called_automation_without_its_call_step_is_still_indented_by_depth() -> None:
    # The caller traced at level "off", the callee traced: depth alone indents.
    lines = render_trace([step("do[0]", depth=2), step("do[0].repeat.do[0]", depth=2), step("do[0]", depth=3)])
    assert indents(lines) == [1, 2, 3]


def test_values_are_one_line_json_cut_to_80_characters() -> None:
    lines = render_trace([
        step("do[0]", value={"a": [1, 2], "b": "x"}),
        step("do[1]", value="y" * 200),
        step("do[2]", value=None),
        step("do[3]", value={"$truncated": True, "bytes": 40000, "preview": "{\"big\": \"" + "z" * 100}),
        step("do[4]"),  # level steps: no value, nothing shown
    ])
    assert lines[0].endswith('= {"a":[1,2],"b":"x"}')
    shown = lines[1].split("= ", 1)[1]
    assert len(shown) == 80 and shown.endswith("…") and shown.startswith('"yyy')
    assert lines[2].endswith("= null")
    assert lines[3].endswith("… (40000 bytes)") and '{"big"' in lines[3]
    assert "=" not in lines[4]
    assert "\n" not in one_line_json({"multi": "line\nvalue"}, UNICODE)


def test_ascii_fallback_has_no_symbol_outside_ascii() -> None:
    lines = render_trace([
        step("do[0]"), step("do[1]", outcome="break"),
        step("do[2]", outcome="error", error={"error": "E", "message": "é" * 100}),
        step("do[3]", value={"name": "café" * 40}),
    ], ASCII)
    assert [line.split()[0] for line in lines] == ["+", "<", "x", "+"]
    for line in lines:
        line.encode("ascii")  # printable on an ASCII terminal
    assert lines[3].endswith("...") and "\\u00e9" in lines[3] and "\\xe9" in lines[2]
    assert symbols_for("ascii") is ASCII and symbols_for("ANSI_X3.4-1968") is ASCII
    assert symbols_for("latin-1") is ASCII and symbols_for(None) is ASCII and symbols_for("nope") is ASCII
    assert symbols_for("utf-8") is UNICODE


# ---- the table and the header ---------------------------------------------------------------


RUN = {
    "id": "a" * 32, "workflowId": "wf-1", "temporalRunId": "r-1", "workspaceId": "ws1", "automation": "hook",
    "appInstance": "", "trigger": {"type": "endpoint", "value": "hook"}, "correlationId": "c-1", "userId": None,
    "status": "failed", "startedAt": "2024-05-01T12:03:04.123Z", "endedAt": "2024-05-01T12:03:06.300Z",
    "duration": 2177, "revision": 3, "rerunOf": None,
    "error": {"error": "FetchError", "message": "refused", "at": {"automation": "hook", "instruction": "do[0]"}},
}


def test_runs_table() -> None:
    running = {**RUN, "id": "b" * 32, "status": "running", "duration": None, "error": None, "appInstance": "crm",
               "trigger": {"type": "schedule", "value": None}}
    header, first, second = render_runs([RUN, running])
    assert header.split() == ["ID", "STATUS", "AUTOMATION", "TRIGGER", "STARTED", "DURATION", "ERROR"]
    assert first.split() == ["a" * 32, "failed", "hook", "endpoint:hook", "2024-05-01", "12:03:04", "2.2", "s",
                             "FetchError"]
    assert second.split() == ["b" * 32, "running", "crm.hook", "schedule", "2024-05-01", "12:03:04", "-"]
    assert first.index("failed") == header.index("STATUS")  # aligned columns
    assert render_runs([]) == ["no runs"]


def test_durations() -> None:
    assert [format_duration(ms) for ms in (None, 0, 850, 4210, 187_000, 7_500_000)] == [
        "-", "0 ms", "850 ms", "4.2 s", "3m 07s", "2h 05m"]


def test_run_header_then_the_tree() -> None:
    run = {**RUN, "temporalUrl": "http://t/namespaces/default/workflows/wf-1/r-1/history", "output": {"ok": 1},
           "trace": {"level": "steps", "dropped": 2, "steps": [
               step("do[0]", "fetch", outcome="error", error={"error": "FetchError", "message": "refused"})]}}
    lines = render_run(run)
    text = "\n".join(lines)
    for expected in ("automation   hook (revision 3)", "status       failed", "trigger      endpoint:hook",
                     "user         -", "started      2024-05-01 12:03:04", "duration     2.2 s",
                     "temporal     http://t/namespaces/default/workflows/wf-1/r-1/history",
                     "error        FetchError: refused (at hook do[0])", 'output       {"ok":1}',
                     "trace (steps, 1 step, 2 more dropped):"):
        assert expected in lines, (expected, text)
    assert lines[-1] == "✗ fetch  do[0]  1 ms  FetchError: refused"
    assert render_run({**RUN, "trace": {"level": "off", "steps": []}})[-1] == "trace: off"
    called = render_run({**RUN, "trace": {"level": "off", "steps": [step("do[0]", depth=2)], "dropped": 0}})
    assert called[-2:] == ["trace (off, 1 step):", "  ✓ set  do[0]  1 ms"]  # the callee's own level
    assert "not available" in render_run(RUN)[-1]  # no read access: no trace key


# ---- arguments ------------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def tideway(handler: Handler | None, *argv: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """``tideway <argv>`` in this process, its requests answered by ``handler`` (a stand-in API)."""
    monkeypatch.setattr(connection, "TEST_TRANSPORT", httpx.MockTransport(handler) if handler else None)
    return run(argv)


def recorder(answer: Any = None) -> tuple[list[httpx.Request], Handler]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer if answer is not None else {"result": {"runs": []}})

    return seen, handler


@pytest.fixture(autouse=True)
def no_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No profile of the machine's user, no TIDEWAY_* of the environment."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("TIDEWAY_URL", "TIDEWAY_TOKEN", "TIDEWAY_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def test_list_filters_become_the_api_query(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seen, handler = recorder()
    code = tideway(handler, "runs", "list", "ws1", "--automation", "hook", "--status", "failed", "--trigger-type",
                   "endpoint", "--correlation-id", "c-1", "--user-id", "u-1", "--after", "2024-05-01T00:00:00Z",
                   "--before", "2024-05-02", "--page", "2", "--limit", "50", "--json", "--url", "http://h:1",
                   "--token", "t", monkeypatch=monkeypatch)
    assert code == 0
    assert seen[0].url.path == "/v2/workspaces/ws1/runs" and seen[0].url.host == "h"
    assert dict(seen[0].url.params) == {"automation": "hook", "status": "failed", "triggerType": "endpoint",
                                        "correlationId": "c-1", "userId": "u-1", "afterDate": "2024-05-01T00:00:00Z",
                                        "beforeDate": "2024-05-02", "page": "2", "limit": "50"}
    assert json.loads(capsys.readouterr().out) == {"result": {"runs": []}}
    assert list_params(automation=None, page=0) == {"page": 0}


@pytest.mark.parametrize("bad", [["--status", "done"], ["--trigger-type", "cron"], ["--after", "yesterday"],
                                 ["--limit", "0"], ["--limit", "101"], ["--page", "-1"], ["--page", "x"]])
def test_bad_list_options_are_refused(bad: list[str], monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    seen, handler = recorder()
    assert tideway(handler, "runs", "list", "ws1", *bad, monkeypatch=monkeypatch) == 2
    assert seen == [] and "Traceback" not in capsys.readouterr().err


def test_show_rerun_cancel_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    seen, handler = recorder({"result": {"run": {"id": "r1", "status": "succeeded"}}})
    assert tideway(handler, "runs", "show", "ws1", "r1", monkeypatch=monkeypatch) == 0
    assert tideway(handler, "runs", "rerun", "ws1", "r1", "--original", monkeypatch=monkeypatch) == 0
    assert tideway(handler, "runs", "rerun", "ws1", "r1", monkeypatch=monkeypatch) == 0
    assert tideway(handler, "runs", "cancel", "ws1", "r1", "--json", monkeypatch=monkeypatch) == 0
    assert [(r.method, r.url.path) for r in seen] == [
        ("GET", "/v2/workspaces/ws1/runs/r1"), ("POST", "/v2/workspaces/ws1/runs/r1/rerun"),
        ("POST", "/v2/workspaces/ws1/runs/r1/rerun"), ("POST", "/v2/workspaces/ws1/runs/r1/cancel")]
    assert [json.loads(r.content) for r in seen[1:3]] == [{"definition": "original"}, {}]
    assert seen[0].url.host == "127.0.0.1" and "authorization" not in seen[0].headers


def test_connection_defaults_from_the_environment() -> None:
    assert resolve_connection(environ={}) == Connection(DEFAULT_URL, None)
    assert resolve_connection(environ={"TIDEWAY_URL": "http://api:9000/", "TIDEWAY_TOKEN": "tok"}) == Connection(
        "http://api:9000", "tok")
    assert resolve_connection("http://x:1", "mine", environ={"TIDEWAY_URL": "http://api:9000",
                                                             "TIDEWAY_TOKEN": "tok"}) == Connection("http://x:1", "mine")


# ---- the commands against a stand-in API ----------------------------------------------------


def test_list_sends_the_token_and_filters(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seen, handler = recorder({"result": {"runs": [RUN]}})
    assert tideway(handler, "runs", "list", "ws 1", "--status", "failed", "--json", "--token", "tok",
                   monkeypatch=monkeypatch) == 0
    assert seen[0].url.raw_path.startswith(b"/v2/workspaces/ws%201/runs?")  # the id is one path segment
    assert seen[0].url.params["status"] == "failed" and seen[0].headers["authorization"] == "Bearer tok"
    assert json.loads(capsys.readouterr().out) == {"result": {"runs": [RUN]}}


def test_api_errors_are_one_line_on_stderr(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "ObjectNotFoundError", "message": "no run r1"})

    assert tideway(handler, "runs", "show", "ws1", "r1", monkeypatch=monkeypatch) == 1
    captured = capsys.readouterr()
    assert captured.err == "error: ObjectNotFoundError: no run r1\n" and captured.out == ""

    def proxy_error(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    assert tideway(proxy_error, "runs", "cancel", "ws1", "r1", monkeypatch=monkeypatch) == 1
    assert capsys.readouterr().err == "error: HTTP 502: <html>Bad gateway</html>\n"


def test_connection_refused_names_the_url(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conformance.http_stub import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert tideway(None, "runs", "list", "ws1", "--url", url, monkeypatch=monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot connect to the Tideway API at {url}") and "Traceback" not in err


def test_rerun_of_a_webhook_run_reads_the_new_id_from_the_header(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(400, json={"error": "FetchError", "message": "refused"},
                              headers={"X-Tideway-Run-Id": "c" * 32})

    assert tideway(handler, "runs", "rerun", "ws1", "r1", "--original", "--json", monkeypatch=monkeypatch) == 1
    assert json.loads(bodies[0]) == {"definition": "original"}
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"result": {"run": {"id": "c" * 32, "status": "failed", "httpStatus": 400,
                                                           "output": {"error": "FetchError", "message": "refused"}}}}
    assert captured.err == "error: FetchError: refused\n"


def test_rerun_of_another_run_and_cancel(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    answer = {"result": {"run": {"id": "d" * 32, "workflowId": "wf", "rerunOf": "r1", "status": "succeeded",
                                 "output": [1]}}}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/rerun"):
            assert json.loads(request.content) == {}
            return httpx.Response(200, json=answer, headers={"X-Tideway-Run-Id": "d" * 32})
        return httpx.Response(200, json={"result": {"run": {**RUN, "status": "cancelled"}}})

    assert tideway(handler, "runs", "rerun", "ws1", "r1", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == f"new run  {'d' * 32}  (succeeded)\noutput   [1]\n"
    assert tideway(handler, "runs", "rerun", "ws1", "r1", "--json", monkeypatch=monkeypatch) == 0
    assert json.loads(capsys.readouterr().out) == answer  # the API's answer as it is
    assert tideway(handler, "runs", "cancel", "ws1", "r1", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == f"run {'a' * 32} cancelled\n"


def test_a_rerun_that_fails_before_answering_is_an_api_error(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "FetchError", "message": "refused"})

    assert tideway(handler, "runs", "rerun", "ws1", "r1", "--json", monkeypatch=monkeypatch) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "error: FetchError: refused\n"


def test_a_webhook_rerun_answering_server_sent_events_keeps_the_text(monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text='data: {"n":1}\n\n', headers={"X-Tideway-Run-Id": "e" * 32,
                                                                       "content-type": "text/event-stream"})

    assert tideway(handler, "runs", "rerun", "ws1", "r1", "--json", monkeypatch=monkeypatch) == 0
    run = json.loads(capsys.readouterr().out)["result"]["run"]
    assert run == {"id": "e" * 32, "status": "succeeded", "httpStatus": 200, "output": 'data: {"n":1}\n\n'}
