"""jobdeck: background jobs, imports and the Job Management page that shows them."""

__version__ = "0.1.0"
