"""The engine's own tests: every instruction, the language and the app rules, written for Tideway
and independent of ``../shared`` (whose corpus stays the external conformance check)."""
