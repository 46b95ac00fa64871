"""The automation interpreter (pure; side effects behind ``Effects``)."""
