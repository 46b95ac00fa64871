"""Workspace files (docs/files.md): ``service.FileService`` for the routes, ``content`` for the
bytes in the blob store, ``expiry`` for the retention sweep, ``records`` for the public shape."""
