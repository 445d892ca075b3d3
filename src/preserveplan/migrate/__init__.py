"""Migration of files to archival formats (converters live in :mod:`preserveplan.migrate.tools`)."""
