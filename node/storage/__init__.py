"""Persistence of ledgers, state and consensus statements in LevelDB (through plyvel)."""
