"""Customer import (directors and admins) and the export with contacts (everyone, of
their own scope), in the same columns so that an export re-imports unchanged."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm_project.exports import CONTENT_TYPES, export_response
from crm_project.imports import SpreadsheetUploadForm

from .. import lists
from ..customer_file import COLUMNS, MAX_FILE_BYTES
from ..customer_import import customer_export_rows, customer_import_run
from ..filters import CustomerFilterSet
from ..models import Customer


class CustomerImportForm(SpreadsheetUploadForm):
    max_bytes = MAX_FILE_BYTES

    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=ngettext_lazy(
            "UTF-8 CSV or an Excel workbook (first sheet), at most %(mb)d MB.",
            "UTF-8 CSV or an Excel workbook (first sheet), at most %(mb)d MB.",
            "mb",
        )
        % {"mb": MAX_FILE_BYTES // 1024**2},
        widget=SpreadsheetUploadForm.base_fields["file"].widget,
    )
    dry_run = forms.BooleanField(required=False, label=_("Dry run: check and count, write nothing"))


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def customer_import(request):
    """Upload a file; the import runs at once and the page shows its counts or every
    error (line, column, message)."""
    form = CustomerImportForm(
        request.POST if request.method == "POST" else None, request.FILES if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = customer_import_run(
            file=upload, file_name=upload.name, user=request.user, dry_run=form.cleaned_data["dry_run"]
        )
        return render(request, "customers/import_result.html", {"result": result})
    return render(request, "customers/import_form.html", {"form": form, "columns": COLUMNS})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_export(request):
    """The user's customers, filtered as on the list (?q=…&city=…), one row per contact,
    in the import's columns; ?_export=csv (default) or xlsx."""
    fmt = request.GET.get("_export")
    fmt = fmt if fmt in CONTENT_TYPES else "csv"
    visible = lists.annotate(Customer.objects.visible_to(request.user), "customers")
    filterset = lists.filterset_class(CustomerFilterSet, "customers")(request.GET, queryset=visible, request=request)
    customers = filterset.qs if filterset.is_valid() else visible.none()
    customers = customers.order_by("name", "pk")[: settings.EXPORT_MAX_ROWS]
    return export_response(fmt, "customers-with-contacts", COLUMNS, customer_export_rows(customers))


urlpatterns = [
    path("import/", customer_import, name="customer_import"),
    path("export/", customer_export, name="customer_export"),
]
