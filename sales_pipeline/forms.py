from pathlib import Path

from django import forms

# Uploads above this are refused; a million ledger lines are about 60 MB of CSV.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
EXTENSIONS = (".csv", ".xlsx")


class SettlementImportForm(forms.Form):
    file = forms.FileField(
        help_text=(
            "CSV (UTF-8, header row) or XLSX, at most 200 MB. Columns: customer (external reference), date "
            "(ISO date or date-time), product (SKU), amount (line total, negative for returns); optional: "
            "quantity, cost, manager (username), document, product_line."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}),
    )
    create_missing = forms.BooleanField(
        required=False,
        label="Create missing customers and products",
        help_text="Unknown customer references and SKUs become new records (customers go to the unassigned pool). "
        "Without this they are errors.",
    )
    dry_run = forms.BooleanField(
        required=False, label="Dry run", help_text="Check the file and count what would happen; write nothing."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in EXTENSIONS:
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024**2:,.0f} MB; the limit is {MAX_UPLOAD_BYTES // 1024**2} MB."
            )
        head = upload.read(8 * 1024)
        upload.seek(0)
        is_zip = head.startswith(b"PK\x03\x04")
        if upload.name.lower().endswith(".xlsx") and not is_zip:
            raise forms.ValidationError("This is not an XLSX file.")
        if upload.name.lower().endswith(".csv") and (is_zip or b"\x00" in head):
            raise forms.ValidationError(
                "This is not a CSV text file. Save the sheet as 'CSV UTF-8' or upload the .xlsx."
            )
        return upload
