"""Inventory: walk an archive, checksum and identify every file, record it in the catalog."""
