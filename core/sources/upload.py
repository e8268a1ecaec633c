"""A CSV file: uploaded on the Data page (the app reads only its upload folder) or named on the command line."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import csvfile
from ..errors import DataError, SpecError
from .base import Source


def check_csv_path(path: str | None, root: str | Path) -> Path:
    """The CSV path if it lies inside `root` (symlinks and `..` resolved), else DataError.

    The app reads CSV files only from its upload folder: a link, an imported spec or a bundle
    that names /etc/passwd must not get the server to read, chart or describe it.
    """
    text = path or ""
    if "\x00" in text:
        raise DataError("the CSV path contains a null byte; upload the file on the Data page")
    resolved = Path(text).resolve()
    if not text or not resolved.is_relative_to(Path(root).resolve()):
        raise DataError(f"{text!r} is not a file uploaded to this app; RNN Lab reads only CSV files uploaded "
                        "here. Upload it on the Data page")
    return resolved


def load_csv(path: str | Path, date_column: str | None = None) -> pd.DataFrame:
    """Read a CSV with a date column into a date-indexed frame (see core.csvfile)."""
    return csvfile.read_path(path, date_column)


def _load(d, csv_root: str | Path | None = None) -> pd.DataFrame:
    if csv_root is not None:
        check_csv_path(d.path, csv_root)
    return load_csv(d.path or "", d.date_column)


def _check(d) -> None:
    if not d.path:
        raise SpecError("data.path", "give the path of the CSV file")


def _title(d) -> str:
    """The file's name as the person uploaded it (the upload store's prefix removed)."""
    return csvfile.UPLOAD_PREFIX.sub("", str(d.path).replace("\\", "/").rsplit("/", 1)[-1])


SOURCE = Source(name="csv", label="Upload CSV", fields=("path", "date_column"), defaults={},
                load=_load, check=_check, title=_title, uploads=True)
