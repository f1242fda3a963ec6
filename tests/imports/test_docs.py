"""docs/imports.md stays true to the code: every error code and every import setting is documented."""

from __future__ import annotations

import pathlib

from jobdeck import settings
from jobdeck.imports import validate

DOC = (pathlib.Path(__file__).parent.parent.parent / "docs" / "imports.md").read_text()


def test_every_error_code_is_documented() -> None:
    assert [code for code in validate.CODES if f"| `{code}` |" not in DOC] == []


def test_every_import_setting_is_documented() -> None:
    names = [n for n in settings.Settings.model_fields if n.startswith("import_") or n == "max_upload_mb"]
    assert [n for n in names if f"JOBDECK_{n.upper()}" not in DOC] == []
