"""File jobs' shared core: formats, storage layout, cutting inputs into chunks, ingesting."""
