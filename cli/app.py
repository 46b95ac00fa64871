"""The ``tideway`` command (Typer): the server commands (cli/commands/server.py), the runs
(cli/commands/runs.py), the workspace as code (cli/commands/workspace.py: validate, push, pull,
diff, test) and the remote ones (cli/commands/remote.py: login, call, events).

:func:`run` is the whole command for ``cli.main.main`` and the tests: it answers an exit code and
never lets a traceback out. Errors: ``error: <Name>: <message>`` on stderr and exit 1 (a
``CliError``, or any unexpected exception); a bad option is Click's usage error, exit 2; a server
start-up problem (``TidewayError``) is ``tideway: <message>``, exit 2, as before; Ctrl-C is 130."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from cli.commands import remote, server, workspace
from cli.commands.runs import runs_app
from cli.output import CliError, print_error, replace_unprintable
from schemas.errors import TidewayError

app = typer.Typer(name="tideway", help="Tideway: workflow automation backend, and its workspaces as code.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
server.register(app)
app.add_typer(runs_app, name="runs", rich_help_panel=remote.PANEL)
workspace.register(app)
remote.register(app)


def run(argv: Sequence[str] | None = None) -> int:
    replace_unprintable()
    try:
        result = app(args=list(argv) if argv is not None else None, prog_name="tideway", standalone_mode=False)
    except CliError as exc:
        print_error(exc)
        return 1
    except TidewayError as exc:  # e.g. a lost secrets key: a clear message, never a traceback
        print(f"tideway: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except typer.Abort:  # Ctrl-D / Ctrl-C at a prompt
        print(file=sys.stderr)
        return 130
    except Exception as exc:
        usage = getattr(exc, "show", None)
        if callable(usage) and isinstance(getattr(exc, "exit_code", None), int):
            usage()  # Click's usage error: the command's usage line and what was wrong
            return int(exc.exit_code)  # type: ignore[attr-defined]
        print_error(CliError(str(exc) or repr(exc), type(exc).__name__))
        return 1
    return result if isinstance(result, int) else 0
