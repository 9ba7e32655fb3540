"""Bootstrap 5 form fields without crispy-forms' per-field cost (issue 15).

crispy renders each field through several templates of its own around the widget's; on
the list pages' filter forms that was a tenth of the page. These filters write the same
Bootstrap markup (label, widget with its classes, errors, help) in Python; only the
widget itself goes through Django's form renderer. Template library `crm_forms`
(settings.TEMPLATES libraries): `{{ form|bootstrap_form }}`, `{{ field|bootstrap_field }}`.
"""

from django import forms, template
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


def _widget_class(widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return ""
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


@register.filter
def bootstrap_field(field):
    """One bound field as crispy's bootstrap5 pack lays it out."""
    widget = field.field.widget
    if field.is_hidden:
        return field.as_widget()
    classes = [c for c in (widget.attrs.get("class", ""), _widget_class(widget)) if c]
    if field.errors:
        classes.append("is-invalid")
    html = field.as_widget(attrs={"class": " ".join(classes)} if classes else None)
    label = conditional_escape(field.label or "")
    required = mark_safe('<span class="asteriskField">*</span>') if field.field.required and label else ""
    errors = format_html_join(
        "", '<div class="invalid-feedback d-block"><strong>{}</strong></div>', ((e,) for e in field.errors)
    )
    help_text = format_html('<div class="form-text">{}</div>', field.help_text) if field.help_text else ""
    if isinstance(widget, forms.CheckboxInput):
        return format_html(
            '<div id="div_{}" class="mb-3 form-check">{}'
            '<label for="{}" class="form-check-label">{}{}</label>{}{}</div>',
            field.auto_id, html, field.id_for_label, label, required, errors, help_text,
        )  # fmt: skip
    label_html = (
        format_html('<label for="{}" class="form-label">{}{}</label>', field.id_for_label, label, required)
        if label
        else ""
    )
    return format_html(
        '<div id="div_{}" class="mb-3">{}{}{}{}</div>', field.auto_id, label_html, html, errors, help_text
    )


@register.filter
def bootstrap_form(form):
    """The whole form: its errors, then every field (hidden ones first)."""
    parts = [
        format_html('<div class="alert alert-block alert-danger">{}</div>', form.non_field_errors())
        if form.non_field_errors()
        else ""
    ]
    parts += [bootstrap_field(field) for field in form.hidden_fields()]
    parts += [bootstrap_field(field) for field in form.visible_fields()]
    return mark_safe("".join(str(part) for part in parts))  # noqa: S308 - each part is built escaped
