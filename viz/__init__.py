"""The browser game (Solara). It uses `market` and nothing uses it."""
