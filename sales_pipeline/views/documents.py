"""A deal's documents: previewed and generated from admin-edited templates, uploaded
(checked by sales_pipeline.documents), downloaded, marked sent."""

import mimetypes
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import documents
from ..deal_forms import GenerateForm, SentForm, UploadForm
from ..models import DealDocument, DocumentTemplate
from .common import DOCUMENT, VIEW, deal_or_404, error_text, form_errors_only, post_action, visible_deals


def _document(request, pk) -> DealDocument:
    documents_ = DealDocument.objects.filter(deal__in=visible_deals(request).values("pk")).select_related("deal")
    return get_object_or_404(documents_, pk=pk)


def _print_page(request, *, deal, title, html, document=None):
    return render(
        request,
        "sales_pipeline/deal_document_print.html",
        # Rendered by documents.render_template_text: autoescaped, from the sandbox.
        {"deal": deal, "title": title, "html": mark_safe(html), "document": document},  # noqa: S308
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def deal_document_preview(request, pk):
    """GET ?kind=offer|contract|invoice|act: the document as it would be generated now,
    printable, not kept."""
    deal = deal_or_404(request, pk)
    kind = request.GET.get("kind", DocumentTemplate.Kind.OFFER)
    if kind not in DocumentTemplate.Kind.values:
        kind = DocumentTemplate.Kind.OFFER
    try:
        title, html = documents.document_render(deal=deal, kind=kind)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect(deal)
    return _print_page(request, deal=deal, title=title, html=html)


@login_required
@permission_required(DOCUMENT, raise_exception=True)
@require_POST
def deal_document_generate(request, pk):
    """POST kind: generate the document from its template and keep it with the deal."""
    deal = deal_or_404(request, pk)
    form = GenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Pick the document to generate."))
        return redirect(deal)
    try:
        document = documents.document_generate(deal=deal, kind=form.cleaned_data["kind"], actor=request.user)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect(deal)
    messages.success(request, _("%(title)s generated: print it or save it as PDF.") % {"title": document.title})
    return redirect("sales_pipeline:deal_document", pk=document.pk)


@login_required
@permission_required(DOCUMENT, raise_exception=True)
@require_POST
def deal_document_upload(request, pk):
    """POST a file (checked by documents.check_upload) to attach to the deal."""
    deal = deal_or_404(request, pk)
    return post_action(
        request,
        UploadForm(request.POST, request.FILES),
        run=lambda data: documents.document_upload(
            deal=deal,
            upload=data["file"],
            kind=data["kind"],
            title=data["title"],
            sent_date=data["sent_date"],
            actor=request.user,
        ),
        success=lambda result: _("File attached."),
        invalid=form_errors_only,
        back=deal,
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def deal_document(request, pk):
    """GET: a generated document as a printable page; an uploaded file as a download."""
    document = _document(request, pk)
    if not document.file:
        messages.info(request, _("%(title)s has no file attached.") % {"title": document.title})
        return redirect(document.deal)
    if documents.is_generated(document):
        with document.file.open("rb") as stored:
            html = stored.read().decode("utf-8")
        return _print_page(request, deal=document.deal, title=document.title, html=html, document=document)
    name = Path(document.file.name).name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # Always a download, never shown inline: an upload cannot run as a page of this site.
    return FileResponse(document.file.open("rb"), as_attachment=True, filename=name, content_type=content_type)


@login_required
@permission_required(DOCUMENT, raise_exception=True)
@require_POST
def deal_document_sent(request, pk):
    """POST sent_date: the day the document went to the customer."""
    document = _document(request, pk)
    return post_action(
        request,
        SentForm(request.POST),
        run=lambda data: documents.document_mark_sent(
            document=document, sent_date=data["sent_date"], actor=request.user
        ),
        success=lambda result: (
            _("%(title)s: sent on %(date)s.")
            % {"title": document.title, "date": date_format(document.sent_date, "d M Y")}
        ),
        invalid=lambda form: _("Give the date the document was sent."),
        back=document.deal,
    )
