"""Forms of the CSV import page. They only parse input; services.csv_io validates the rows."""

from __future__ import annotations

import csv
import io

from django import forms
from django.template.defaultfilters import filesizeformat

from accounts_registry.services.csv_io import REGISTRY_COLUMNS

# The confirm step posts the text back as an ordinary form field, which Django caps at
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default): stay under it.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# Browsers send a textarea's line breaks as CRLF, which can add a byte per line.
MAX_CONFIRM_CHARS = MAX_UPLOAD_BYTES + MAX_UPLOAD_BYTES // 8
# The import runs inside the request (twice: preview, then confirm). Its SQL statements do not grow with
# the rows, so 10,000 rows take seconds (benchmarks/README.md, csv_import); larger files belong to the
# import_registry command, which has no limit.
MAX_ROWS = 10_000

NOT_UTF8 = "The file is not UTF-8 text. In a spreadsheet, save it as “CSV UTF-8” and upload it again."


def _check_row_count(text: str) -> str:
    try:
        rows = sum(1 for cells in csv.reader(io.StringIO(text, newline="")) if any(cells)) - 1
    except csv.Error:
        return text  # the import reports malformed CSV with its line number
    if rows > MAX_ROWS:
        raise forms.ValidationError(
            f"The file has {rows:,} rows; the page imports at most {MAX_ROWS:,}. "
            "Split it, or ask an operator to run the import_registry command."
        )
    return text


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            f"UTF-8, at most {MAX_UPLOAD_BYTES // 2**20} MB and {MAX_ROWS:,} rows, "
            f"with the columns {', '.join(REGISTRY_COLUMNS)}."
        ),
    )

    def clean_file(self) -> str:
        """The uploaded file's text (a byte order mark is dropped)."""
        upload = self.cleaned_data["file"]
        if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(MAX_UPLOAD_BYTES)}. "
                "Split it into smaller files."
            )
        try:
            text = bytes(upload.read()).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(NOT_UTF8) from error
        return _check_row_count(text)


class ImportConfirmForm(forms.Form):
    """Carries the previewed text back. It is untrusted input and is validated again in full."""

    csv_text = forms.CharField(
        strip=False,
        max_length=MAX_CONFIRM_CHARS,
        widget=forms.Textarea(attrs={"hidden": True, "aria-hidden": "true"}),
    )

    def clean_csv_text(self) -> str:
        return _check_row_count(self.cleaned_data["csv_text"])
