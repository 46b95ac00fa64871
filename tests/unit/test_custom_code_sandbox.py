"""The Custom Code sandbox (core/custom_code, docs/custom-code.md): what functions get, how they
fail, and hostile code contained, each case its own test. Runs the real engine processes."""

from __future__ import annotations

import threading
import time

import pytest

from core.custom_code import (
    CodeLimits,
    CustomCodeError,
    check_function,
    engine_hardening,
    python_refusal_message,
    run_function,
)
from core.custom_code.pool import EnginePool

QUICK = CodeLimits(timeout_seconds=1.0)


def run(code: str, parameters: dict | None = None, limits: CodeLimits = QUICK, **options):
    return run_function("fn", code, parameters or {}, limits, **options)


def failure(code: str, parameters: dict | None = None, limits: CodeLimits = QUICK, **options) -> CustomCodeError:
    with pytest.raises(CustomCodeError) as caught:
        run(code, parameters, limits, **options)
    error = caught.value
    assert error.name == "CustomCodeError" and error.status == 400
    assert error.details["function"] == "fn"
    return error


# ---- what the issue's functions do ----

def test_the_issue_example_runs_with_its_parameters():
    code = ("const ids = String(list || '').split(',').map(s => s.trim()).filter(Boolean);\n"
            "return { allowed: ids.includes('*') || ids.includes(String(agentId)) };")
    assert run(code, {"list": "a1, b2", "agentId": "b2"}).value == {"allowed": True}
    assert run(code, {"list": "a1", "agentId": "b2"}).value == {"allowed": False}
    assert run(code, {"list": "*"}, declared=["list", "agentId"]).value == {"allowed": True}


def test_declared_parameters_missing_from_the_call_are_undefined():
    assert run("return [typeof list, agentId === undefined]", {}, declared=["list", "agentId"]).value == [
        "undefined", True]


def test_modern_javascript_and_async_await():
    code = """
        const { a, b: [first, ...rest] } = input;
        const double = async (x) => { await null; return x * 2; };
        class Box { #v; constructor(v) { this.#v = v } get v() { return this.#v } }
        const doubled = await Promise.all(rest.map(double));
        return { text: `${a}-${first}`, doubled, box: new Box(3).v, opt: input?.missing?.x ?? 'none',
                 re: /(?<year>\\d{4})/.exec('in 2024').groups.year, date: new Date(0).toISOString(),
                 math: Math.max(...doubled), json: JSON.parse('{"k": [1]}'), at: [1, 2, 3].at(-1) };
    """
    assert run(code, {"input": {"a": "x", "b": [1, 2, 3]}}).value == {
        "text": "x-1", "doubled": [4, 6], "box": 3, "opt": "none", "re": "2024",
        "date": "1970-01-01T00:00:00.000Z", "math": 6, "json": {"k": [1]}, "at": 3}


def test_a_returned_promise_is_awaited_and_undefined_is_none():
    assert run("return new Promise((resolve) => resolve(41)).then((x) => x + 1)").value == 42
    assert run("const x = 1;").value is None


def test_results_are_plain_json():
    value = run("return {n: 1.5, big: 2 ** 53, nan: NaN, list: [null, true], date: new Date(0), "
                "skipped: () => 1, s: 'é\\u0000'}").value
    assert value == {"n": 1.5, "big": 2 ** 53, "nan": None, "list": [None, True],
                     "date": "1970-01-01T00:00:00.000Z", "s": "é\x00"}


def test_a_lone_surrogate_in_the_result_becomes_a_replacement_character():
    assert run("return ['\\ud800x', '\\\\ud800', '😀']").value == ["\ufffdx", "\\ud800", "😀"]


def test_console_lines_are_captured_with_their_level():
    result = run("console.log('hi', {a: 1, b: [1, 2]}, 3); console.info('i'); console.warn('w'); "
                 "console.error(new TypeError('bad')); console.log('%s is %d', 'Bob', 42); return 0")
    assert result.console == ["hi { a: 1, b: [ 1, 2 ] } 3", "[info] i", "[warn] w", "[error] TypeError: bad",
                              "Bob is 42"]


def test_console_output_is_capped():
    limits = CodeLimits(timeout_seconds=2.0, max_console_bytes=1000)
    result = run("for (let i = 0; i < 500; i++) console.log('x'.repeat(50)); return 'done'", limits=limits)
    assert result.value == "done"
    assert sum(len(line.encode()) for line in result.console[:-1]) <= 1000
    assert result.console[-1] == "[console output truncated at 1000 bytes]"


def test_console_lines_printed_before_a_failure_are_kept_on_the_error():
    error = failure("console.log('step 1'); throw new Error('stop')")
    assert error.console == ["step 1"]


# ---- failures ----

def test_a_thrown_error_gives_its_message_and_line():
    error = failure("const a = 1;\n\nthrow new Error('boom: ' + a);")
    assert error.details == {"function": "fn", "reason": "thrown", "message": "boom: 1", "line": 3}
    assert "boom: 1" in error.message and "line 3" in error.message


def test_an_error_in_a_nested_function_gives_a_line_of_the_function():
    error = failure("function inner(x) {\n  return x.missing.field;\n}\nreturn inner({});")
    assert error.details["reason"] == "thrown"
    assert error.details["message"].startswith("TypeError")
    assert error.details["line"] in (2, 4)  # QuickJS names the call site when the frame has no line


def test_a_rejected_promise_and_thrown_values_that_are_not_errors():
    assert failure("await Promise.reject(new RangeError('late'))").details["message"] == "RangeError: late"
    assert failure("throw 'plain'").details["message"] == "plain"
    assert failure("throw {code: 1}").details["message"] == "{ code: 1 }"


def test_a_syntax_error_at_run_time_names_the_line():
    error = failure("let x = 1;\nlet y = ;")
    assert error.details["reason"] == "syntax" and error.details["line"] == 2


def test_check_function_gives_the_line_of_a_syntax_error():
    assert check_function("fn", "return 1") is None
    assert check_function("fn", "const x = await Promise.resolve(1);\nreturn x") is None
    assert check_function("fn", "let x = 1;\nlet y = ;") == "line 2: unexpected token in expression: ';'"
    assert check_function("fn", "a;\r\nb;\r\nc c") .startswith("line 3: ")
    problem = check_function("fn", "if (x) {\n  foo(function () {")
    assert problem is not None and problem.startswith("line 2: ")


def test_check_function_knows_the_declared_parameters():
    assert check_function("fn", "let list = 1", ["list"]) == "line 1: invalid redefinition of parameter name"
    assert check_function("fn", "list = 1", ["list"]) is None


def test_check_function_runs_nothing():
    started = time.monotonic()
    # An attempt to escape the function body: it parses, as at run time, but the check runs none of it.
    assert check_function("fn", "}); while (true) {} (function () {") is None
    assert time.monotonic() - started < 3


def test_results_with_no_json_form_are_refused():
    assert failure("return () => 1").details["reason"] == "not-json"
    assert failure("return 10n").details["reason"] == "not-json"
    assert failure("const a = {}; a.self = a; return a").details["reason"] == "not-json"


def test_a_result_too_large_is_refused():
    limits = CodeLimits(timeout_seconds=2.0, max_output_bytes=1000)
    assert failure("return 'x'.repeat(2000)", limits=limits).details["reason"] == "output"
    assert failure("return 'é'.repeat(600)", limits=limits).details["reason"] == "output"  # 1200 bytes of UTF-8
    assert run("return 'x'.repeat(900)", limits=limits).value == "x" * 900


def test_a_promise_that_never_settles_fails_at_once():
    started = time.monotonic()
    assert failure("await new Promise(() => {})").details["reason"] == "unsettled"
    assert time.monotonic() - started < 1


def test_parameters_that_cannot_be_variables_are_refused():
    assert failure("return 1", {"my-param": 1}).details["reason"] == "parameters"
    assert failure("return 1", {"class": 1}).details["reason"] == "parameters"
    assert failure("return 1", {"x": float("nan")}).details["reason"] == "parameters"
    assert run("return $a + _b + é", {"$a": 1, "_b": 2, "é": 3}).value == 6


def test_python_functions_are_refused_with_the_reason():
    message = python_refusal_message()
    assert "Python" in message and "JavaScript" in message and "docs/custom-code.md" in message


# ---- hostile code: contained, 0 escapes ----

def test_an_endless_loop_times_out_and_the_engine_keeps_serving():
    started = time.monotonic()
    error = failure("console.log('looping'); while (true) {}")
    assert error.details["reason"] == "timeout" and error.console == ["looping"]
    assert 0.9 < time.monotonic() - started < 3
    assert run("return 1 + 1").value == 2


def test_an_endless_loop_does_not_stop_calls_running_beside_it():
    outcome: dict = {}

    def loop() -> None:
        try:
            run("while (true) {}", limits=CodeLimits(timeout_seconds=2.0))
        except CustomCodeError as exc:
            outcome["reason"] = exc.details["reason"]

    looping = threading.Thread(target=loop)
    looping.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert [run("return n * 2", {"n": n}).value for n in range(20)] == [n * 2 for n in range(20)]
    assert time.monotonic() - started < 1.5
    looping.join()
    assert outcome == {"reason": "timeout"}


def test_a_catastrophic_regular_expression_times_out():
    # QuickJS cannot interrupt a backtracking match: the engine process is ended on time instead.
    started = time.monotonic()
    assert failure("return /(a+)+$/.test('a'.repeat(40) + 'b')").details["reason"] == "timeout"
    assert time.monotonic() - started < 3
    assert run("return 'still here'").value == "still here"


def test_an_endless_chain_of_promises_times_out():
    assert failure("while (true) { await null }").details["reason"] == "timeout"


@pytest.mark.parametrize("code", [
    "new ArrayBuffer(1e9)",
    "let s = 'x'; while (true) s += s",
    "const a = []; while (true) a.push({x: 'abcdefghijklmnop' + a.length})",
    "'x'.repeat(2 ** 29)",
])
def test_allocating_a_gigabyte_fails_with_memory_and_the_next_call_works(code):
    error = failure(code, limits=CodeLimits(timeout_seconds=5.0))
    assert error.details["reason"] == "memory", error.details
    assert run("return 'ok'").value == "ok"


def test_endless_recursion_is_a_thrown_stack_overflow():
    error = failure("function f() { return f() + 1 }\nreturn f()")
    assert error.details["reason"] == "thrown" and "stack overflow" in error.details["message"]


@pytest.mark.parametrize("module", ["fs", "child_process", "http", "https", "net", "os", "node:fs", "path"])
def test_require_of_anything_but_crypto_and_buffer_fails_naming_them(module):
    error = failure(f"const m = require('{module}');\nreturn m")
    assert error.details["reason"] == "require" and error.details["line"] == 1
    assert f"Cannot find module '{module}'" in error.details["message"]
    assert "'crypto' and 'buffer'" in error.details["message"]


def test_there_is_no_process_or_environment():
    error = failure("return process.env")
    assert error.details["reason"] == "thrown" and "'process' is not defined" in error.details["message"]


def test_there_is_no_network():
    assert run("return [typeof fetch, typeof XMLHttpRequest, typeof WebSocket, typeof std, typeof os, "
               "typeof __tw_host, typeof __date_clock, typeof print]").value == ["undefined"] * 8
    assert "'fetch' is not defined" in failure("return await fetch('http://127.0.0.1/')").details["message"]


def test_there_are_no_timers():
    error = failure("setTimeout(() => {}, 10)")
    assert "setTimeout is not available" in error.details["message"]


def test_the_function_constructor_reaches_nothing_more():
    error = failure("return globalThis.constructor.constructor('return process')()")
    assert "'process' is not defined" in error.details["message"]
    error = failure("return (async () => {}).constructor('return this.process.mainModule')()")
    assert error.details["reason"] == "thrown"
    assert run("return Function('return typeof globalThis.require')()").value == "function"


def test_a_function_cannot_read_another_calls_state():
    run("globalThis.secret = 'from call 1'; Object.prototype.leaked = 1; Array.prototype.push = null; "
        "JSON.stringify = () => 'x'; return 1")
    assert run("return [typeof secret, ({}).leaked, typeof [].push, JSON.stringify({a: 1})]").value == [
        "undefined", None, "function", '{"a":1}']


def test_a_function_that_breaks_the_builtins_only_changes_its_own_result():
    assert run("JSON.stringify = () => { throw new Error('no') }; Promise.prototype.then = null; "
               "Object.prototype.toJSON = undefined; return {a: 1}").value == {"a": 1}


def test_concurrent_calls_from_many_threads_each_get_their_own_result():
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for round_ in range(10):
                n = index * 100 + round_
                value = run("globalThis.mine = n; await null; return [mine, require('crypto')"
                            ".createHash('sha256').update(String(n)).digest('hex').length]", {"n": n}).value
                results[n] = value
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == {n: [n, 64] for n in results} and len(results) == 80


def test_an_engine_process_that_dies_mid_call_fails_that_call_only():
    pool = EnginePool(1)
    try:
        pool.warm_up(1)
        child = pool._idle[0]
        killer = threading.Timer(0.3, child.process.kill)
        killer.start()
        request = {"op": "run", "code": "while (true) {}", "names": [], "parameters_json": "{}",
                   "limits": {"timeout_seconds": 5.0, "memory_bytes": 64 << 20, "max_output_bytes": 1000,
                              "max_console_bytes": 1000}}
        with pytest.raises(Exception) as caught:
            pool.call(request, 5.0)
        assert getattr(caught.value, "reason", None) == "crashed"
        header, value = pool.call({**request, "code": "return 1"}, 5.0)
        assert header["ok"] and value == "1"
    finally:
        pool.shutdown()


def test_engine_processes_are_hardened():
    run("return 1")
    facts = engine_hardening()
    assert facts["file_writes"] == "refused"
    assert facts["no_new_privileges"] is True
    assert facts["address_space_bytes"]
    print(f"engine process network namespace of its own: {facts['network_namespace']}")


def test_the_language_is_what_the_docs_say():
    value = run("""
        function* numbers() { yield 1; yield 2; }
        return {
          generators: [...numbers()], bigint: String(2n ** 64n), lookbehind: 'price: $42'.match(/(?<=\\$)\\d+/)[0],
          unicode: /\\p{Lu}/u.test('É'), replaceAll: 'a-b-c'.replaceAll('-', '+'),
          settled: (await Promise.allSettled([Promise.reject(1)]))[0].status,
          polyfills: [[1, 2].at(-1), 'ab'.at(0), Object.hasOwn({k: 1}, 'k'), [1, 2, 3].findLast((x) => x < 3),
                      structuredClone({d: [1]})],
          intl: typeof Intl, textEncoder: typeof TextEncoder, queueMicrotask: typeof queueMicrotask,
        };
    """).value
    assert value == {"generators": [1, 2], "bigint": "18446744073709551616", "lookbehind": "42", "unicode": True,
                     "replaceAll": "a+b+c", "settled": "rejected", "polyfills": [2, "a", True, 2, {"d": [1]}],
                     "intl": "undefined", "textEncoder": "function", "queueMicrotask": "function"}
