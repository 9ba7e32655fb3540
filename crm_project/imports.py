"""What every importer shares besides reading the file (crm_project.spreadsheets): the
upload form and looking values up in chunks the database accepts."""

from collections.abc import Iterator
from pathlib import PurePath

from django import forms
from django.db import connection
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .spreadsheets import ZIP_MAGIC

SUFFIXES = (".csv", ".xlsx")


def parameter_chunk_size() -> int:
    """How many values one `IN (...)` may take: SQLite allows only so many parameters."""
    return 900 if connection.vendor == "sqlite" else 10_000


def in_chunks(values: list, size: int | None = None) -> Iterator[list]:
    size = size or parameter_chunk_size()
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SpreadsheetUploadForm(forms.Form):
    """A CSV or XLSX upload: the suffix, the size and the first bytes are checked before
    anything reads the file. Subclasses set `max_bytes` and the file field's help text."""

    max_bytes = 10 * 1024 * 1024

    file = forms.FileField(label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ",".join(SUFFIXES)}))
    dry_run = forms.BooleanField(
        required=False, label=_("Dry run"), help_text=_("Check the file and count what would happen; write nothing.")
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = PurePath(upload.name).suffix.lower()
        if suffix not in SUFFIXES:
            raise forms.ValidationError(gettext("Upload a .csv or .xlsx file."))
        if upload.size > self.max_bytes:
            raise forms.ValidationError(
                gettext("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.")
                % {"size": f"{upload.size / 1024**2:,.1f}", "limit": self.max_bytes // 1024**2}
            )
        head = upload.read(8 * 1024)
        upload.seek(0)
        is_zip = head.startswith(ZIP_MAGIC)
        if suffix == ".xlsx" and not is_zip:
            raise forms.ValidationError(gettext("This is not an XLSX file."))
        if suffix == ".csv" and (is_zip or b"\x00" in head):
            raise forms.ValidationError(
                gettext("This is not a CSV text file. Save the sheet as 'CSV UTF-8' or upload the .xlsx.")
            )
        return upload
