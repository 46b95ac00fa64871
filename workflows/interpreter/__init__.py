"""The automation interpreter (pure; side effects behind ``Effects``)."""


def load_instructions() -> None:
    """Import the instruction modules so their handlers register themselves."""
    from workflows.interpreter import instructions, side_effects  # noqa: F401
