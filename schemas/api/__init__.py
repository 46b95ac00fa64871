"""The HTTP contract: request and response models of the management routes, one module per
resource (docs/api.md). Routes use them as ``response_model`` and to document (and, where the
route validates the body itself, to read) their request bodies; ``/openapi.json`` is built from
them.
"""
