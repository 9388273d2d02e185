"""Facts and their persistence: tables, repositories, migrations. Knows nobody above it."""
