"""Activity names shared by the workflow (caller) and activities/ (implementations)."""

PERSIST_EVENTS = "persist_events"
LOAD_AUTOMATION = "load_automation"
LOAD_BLOB_CHUNK = "load_blob_chunk"
STORE_BLOB_CHUNK = "store_blob_chunk"
FETCH = "fetch"
