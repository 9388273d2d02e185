"""Repositories: the only place SQL is written. Each takes the caller's session and only flushes."""
