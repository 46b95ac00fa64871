"""The ``tideway`` command groups, one module each (assembled by cli/app.py)."""
