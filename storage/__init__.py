"""SQLite storage (aiosqlite, WAL, ``BEGIN IMMEDIATE`` writes) behind small repositories."""
