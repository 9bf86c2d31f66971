"""A list of recipients sent to the bot as a file: ``.txt`` (entries one a line, or
separated by commas or semicolons) or ``.csv`` (the first column; a first row that
is not a number is a header, skipped and said). Everything here is pure: the
handler downloads the file and resolves the entries."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from services.recipients import looks_like_number, split_entries

#: The kinds of file taken, by the end of their name.
DOCUMENT_SUFFIXES = (".txt", ".csv")
#: The largest file read: 10,000 numbers with a name each fit in a few hundred KB.
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
#: Delimiters a spreadsheet writes CSV with (a Russian Excel uses ``;``).
_CSV_DELIMITERS = ",;\t"


class DocumentRefused(Exception):
    """A file that cannot be read as a list: ``key`` names the catalogue's reason."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class DocumentEntries:
    entries: list[str]
    #: the first row of a CSV file, skipped as a header (None: there was none)
    header: str | None = None


def is_list_file(file_name: str | None) -> bool:
    return bool(file_name) and str(file_name).lower().endswith(DOCUMENT_SUFFIXES)


def decode(data: bytes) -> str:
    """UTF-8 (with or without its mark), else Windows-1251, as a spreadsheet on a
    Russian Windows saves it (numbers read the same either way; only names could
    differ, and a name not found is listed back). Binary data is refused."""
    if b"\x00" in data:
        raise DocumentRefused("doc_not_text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise DocumentRefused("doc_not_text") from None


def read_entries(file_name: str, data: bytes) -> DocumentEntries:
    """The entries of a list file. Raises ``DocumentRefused``."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused("doc_too_big", limit=MAX_DOCUMENT_BYTES // 1024)
    # "#" starts a comment line, as in the command line's --to-file
    text = "\n".join(
        line for line in decode(data).splitlines() if not line.lstrip().startswith("#")
    )
    if not file_name.lower().endswith(".csv"):
        return DocumentEntries(split_entries(text))
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = max(_CSV_DELIMITERS, key=first.count) if first else ","
    try:
        cells = [row[0].strip() for row in csv.reader(lines, delimiter=delimiter) if row]
    except csv.Error:
        raise DocumentRefused("doc_not_text") from None
    entries = [cell for cell in cells if cell]
    if entries and not looks_like_number(entries[0]):
        return DocumentEntries(entries[1:], header=entries[0])
    return DocumentEntries(entries)
