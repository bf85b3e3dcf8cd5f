"""What the tools share: the one HTTP client and cache, and the built-once SQLite indexes."""
