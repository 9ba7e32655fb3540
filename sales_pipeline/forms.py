from django import forms
from django.utils.translation import gettext_lazy as _

from crm_project.imports import SpreadsheetUploadForm

# Uploads above this are refused; a million ledger lines are about 60 MB of CSV.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class SettlementImportForm(SpreadsheetUploadForm):
    max_bytes = MAX_UPLOAD_BYTES

    file = forms.FileField(
        help_text=_(
            "CSV (UTF-8, header row) or XLSX, at most 200 MB. Columns: customer (external reference), date "
            "(ISO date or date-time), product (SKU), amount (line total, negative for returns); optional: "
            "quantity, cost, manager (username), document, product_line."
        ),
        widget=SpreadsheetUploadForm.base_fields["file"].widget,
    )
    create_missing = forms.BooleanField(
        required=False,
        label=_("Create missing customers and products"),
        help_text=_(
            "Unknown customer references and SKUs become new records (customers go to the unassigned pool). "
            "Without this they are errors."
        ),
    )
    field_order = ["file", "create_missing", "dry_run"]
