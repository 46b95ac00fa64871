"""``customCode``, the instruction behind the built-in Custom Code app's ``run`` (issue 18): the
instance's ``config.functions[<function>]`` run by the JavaScript sandbox in a local activity
(its result is not deterministic; a retry after a worker crash runs the function again)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from language.values import strip_undefined
from schemas.errors import CustomCodeError, InvalidInstructionError, ObjectNotFoundError
from schemas.instructions import CustomCode
from schemas.runs import CustomCodeRequest
from workflows.interpreter.frames import Frame

if TYPE_CHECKING:
    from workflows.interpreter.engine import Interpreter

MAX_CONSOLE_EVENT_LINES = 100


async def run_custom_code(it: Interpreter, frame: Frame, node: CustomCode) -> Any:
    name = it.render(frame, node.function)
    parameters = strip_undefined(it.render(frame, node.parameters)) if node.parameters is not None else {}
    if not isinstance(name, str) or not name:
        raise InvalidInstructionError("Custom Code needs `function`: the name of one of the instance's functions",
                                      {"field": "function"})
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise InvalidInstructionError("Custom Code `parameters` must be an object", {"field": "parameters"})
    functions = frame.instance.config.get("functions")
    functions = functions if isinstance(functions, dict) else {}
    spec = functions.get(name)
    if not isinstance(spec, dict) or not isinstance(spec.get("code"), str):
        known = ", ".join(sorted(functions)) or "none"
        raise ObjectNotFoundError(f"Custom Code function '{name}' not found in instance "
                                  f"'{frame.instance.full_slug}' (its functions: {known})",
                                  {"function": name, "instance": frame.instance.full_slug})
    declared = list(spec["parameters"]) if isinstance(spec.get("parameters"), dict) else []
    request = CustomCodeRequest(function=name, code=spec["code"], declared=declared, parameters=parameters,
                                language=str(spec.get("language") or "javascript"))
    outcome = await it.effects.run_custom_code(request)
    if outcome.console:
        it.events.native("runtime.customcode.logged", {"function": name, "lines": outcome.console[
            :MAX_CONSOLE_EVENT_LINES]}, frame.slug, frame.depth, instance=frame.instance)
    if outcome.error is not None:
        raise CustomCodeError(str(outcome.error.get("message") or "Custom Code function failed"),
                              outcome.error.get("details"))
    return outcome.value
