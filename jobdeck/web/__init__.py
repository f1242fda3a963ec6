"""The web layer: the JSON API, the pages, sessions and tokens (create_app)."""
