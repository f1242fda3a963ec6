"""Example host applications that embed jobdeck."""
