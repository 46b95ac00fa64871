"""The naive Temporal baseline for bench/run_all.py (see app.py)."""
