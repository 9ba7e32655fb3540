"""A deal's documents: the commercial offer, contract, invoice and act generated from
admin-edited templates, and uploaded files (size- and type-checked).

Templates are written by administrators in the Django template language, so they are
rendered in a sandbox: an engine of its own with no template loaders (no include or
extends of the project's templates), no {% load %}able libraries, without the tags
that reach outside the document (debug, load, include, extends, csrf_token, url), with
autoescaping on, over a context of plain values (dicts, strings, numbers and dates), so
that no template can reach a model's methods or fields the document does not need,
such as the manager's password hash.

PDF: printable HTML with a print stylesheet; the browser's "Save as PDF" makes the
PDF. The one HTML-to-PDF library that works offline from PyPI (xhtml2pdf) pulls in a
dozen packages and renders only a CSS 2 subset, so each template would need writing
twice; ReportLab alone does not read HTML.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags, loader_tags
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_project.dates import business_today

from .deal_rules import deal_money, line_net
from .models import Deal, DealDocument, DocumentTemplate
from .services.deals import deal_update

# Uploads: what a deal's documents are, and how big they may be.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# extension -> the bytes such a file starts with
ALLOWED_UPLOADS: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".odt": (b"PK\x03\x04",),
    ".ods": (b"PK\x03\x04",),
    ".doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    ".xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}
GENERATED_SUFFIX = ".html"

#
# The sandbox
#

# Tags a document template may not use: they read the server's state or its templates,
# or switch escaping off (so a customer named "<script>" would run).
FORBIDDEN_TAGS = {"debug", "load", "csrf_token", "url", "include", "extends", "block", "autoescape"}
FORBIDDEN_FILTERS = {"safe", "safeseq"}


def _sandbox() -> Engine:
    engine = Engine(loaders=[], libraries={}, builtins=[], autoescape=True, debug=False, string_if_invalid="")
    allowed = Library()
    for library in (defaulttags.register, loader_tags.register):
        allowed.tags.update({name: tag for name, tag in library.tags.items() if name not in FORBIDDEN_TAGS})
    allowed.filters.update(
        {name: filter_ for name, filter_ in defaultfilters.register.filters.items() if name not in FORBIDDEN_FILTERS}
    )
    engine.template_builtins = [allowed]
    return engine


SANDBOX = _sandbox()


class DocumentTemplateError(ValidationError):
    pass


def render_template_text(body: str, context: dict) -> str:
    """Render an admin-written template in the sandbox; a broken template raises
    DocumentTemplateError with the engine's message."""
    try:
        template = SANDBOX.from_string(body)
    except TemplateSyntaxError as error:
        raise DocumentTemplateError(_("The document template is broken: %(error)s") % {"error": error}) from error
    return template.render(Context(context, autoescape=True))


#
# What a template sees
#


def _person(user) -> dict:
    return {"name": user.get_full_name() or user.username, "email": user.email} if user else {}


def document_context(deal: Deal, *, today: date | None = None) -> dict:
    """Plain values of the deal for a document template (documented on DocumentTemplate.body:
    deal, customer, lines, manager, today, plus money)."""
    customer = deal.customer
    money = deal_money(deal)
    lines = [
        {
            "product": line.product.name,
            "sku": line.product.sku,
            "quantity": line.quantity.normalize() if line.quantity == line.quantity.to_integral() else line.quantity,
            "price": line.price,
            "discount": line.discount,
            "net": line_net(line),
        }
        for line in deal.lines.select_related("product").order_by("pk")
    ]
    return {
        "deal": {
            "number": deal.pk,
            "title": deal.title,
            "amount": deal.amount,
            "sale_type": deal.get_sale_type_display(),
            "stage": deal.get_stage_display(),
            "offer_sent": deal.offer_sent,
            "offer_expires": deal.offer_expires,
            "offer_revisions": deal.offer_revisions,
            "contract_signed": deal.contract_signed,
            "signatories": deal.signatories,
            "invoice_number": deal.invoice_number,
            "invoice_date": deal.invoice_date,
            "invoice_expires": deal.invoice_expires,
            "event_date": deal.event_date,
            "preparation_agreed": deal.preparation_agreed,
            "act_signed": deal.act_signed,
            "expected_close": deal.expected_close,
        },
        "customer": {
            "name": customer.name,
            "external_ref": customer.external_ref or "",
            "tax_id": customer.tax_id,
            "city": customer.city,
            "email": customer.email,
            "phone": customer.phone,
        },
        "lines": lines,
        "manager": _person(deal.manager),
        "money": {"amount": money.amount, "paid": money.paid, "due": money.due},
        "today": today or business_today(),
    }


def document_render(*, deal: Deal, kind: str, today: date | None = None) -> tuple[str, str]:
    """(title, HTML body) of the deal's `kind` document from its admin-edited template."""
    template = DocumentTemplate.objects.filter(kind=kind).first()
    if template is None:
        label = dict(DocumentTemplate.Kind.choices).get(kind, kind)
        raise ValidationError(
            _("There is no template for the %(document)s yet: an administrator adds it.") % {"document": label.lower()}
        )
    context = document_context(deal, today=today)
    title = render_template_text(template.title, context).strip() or template.title
    return title, render_template_text(template.body, context)


#
# Services
#


@transaction.atomic
def document_generate(*, deal: Deal, kind: str, actor, today: date | None = None) -> DealDocument:
    """Render the deal's `kind` document and keep it as a file of the deal, exactly as
    generated (a later change of the deal or the template does not alter what was sent).
    Called by the deal page's "Generate" buttons."""
    title, html = document_render(deal=deal, kind=kind, today=today)
    document = DealDocument(deal=deal, kind=kind, title=title[:200], uploaded_by=actor)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    document.file.save(f"{kind}-{deal.pk}-{stamp}{GENERATED_SUFFIX}", ContentFile(html.encode("utf-8")), save=False)
    document.full_clean()
    document.save()
    return document


def check_upload(upload) -> None:
    """Refuse a file that is too large, of a type not in ALLOWED_UPLOADS, or whose
    content does not match its extension (a renamed executable, an HTML page)."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than %(size)s MB.") % {"size": MAX_UPLOAD_BYTES // 1024**2})
    suffix = Path(upload.name).suffix.lower()
    if suffix not in ALLOWED_UPLOADS:
        allowed = ", ".join(sorted(ext.lstrip(".") for ext in ALLOWED_UPLOADS))
        raise ValidationError(_("Files of this type cannot be attached (allowed: %(allowed)s).") % {"allowed": allowed})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(ALLOWED_UPLOADS[suffix]):
        raise ValidationError(_("The file's content is not a %(type)s file.") % {"type": suffix.lstrip(".").upper()})


@transaction.atomic
def document_upload(*, deal: Deal, upload, kind: str, title: str, actor, sent_date: date | None = None) -> DealDocument:
    """Attach an uploaded file to the deal after check_upload. Called by the upload form."""
    check_upload(upload)
    document = DealDocument(
        deal=deal, kind=kind, title=(title or Path(upload.name).name)[:200], sent_date=sent_date, uploaded_by=actor
    )
    document.file.save(Path(upload.name).name, upload, save=False)
    document.full_clean()
    document.save()
    if kind == DocumentTemplate.Kind.OFFER and sent_date:
        deal_update(deal=deal, changes={"offer_sent": sent_date}, actor=actor)
    return document


@transaction.atomic
def document_mark_sent(*, document: DealDocument, sent_date: date, actor) -> DealDocument:
    """Keep the day the document went to the customer. An offer's sent date is the
    deal's offer date too (which, when it changes, counts a revision)."""
    if sent_date > business_today():
        raise ValidationError({"sent_date": _("The date is in the future.")})
    document.sent_date = sent_date
    document.save(update_fields=["sent_date"])
    if document.kind == DocumentTemplate.Kind.OFFER:
        deal_update(deal=document.deal, changes={"offer_sent": sent_date}, actor=actor)
    return document


def is_generated(document: DealDocument) -> bool:
    return bool(document.file) and document.file.name.endswith(GENERATED_SUFFIX) and document.kind != "other"
