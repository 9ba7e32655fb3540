"""Bootstrap 5 form fields without crispy-forms' per-field cost (issue 15).

crispy renders each field through several templates of its own around the widget's; on
the list pages' filter forms that was a tenth of the page. These filters write the same
Bootstrap markup (label, widget with its classes, errors, help) in Python; only the
widget itself goes through Django's form renderer, except a plain <select>: Django
renders it with one template include per <option>, which on a filter with 2,000 products
was 70 % of the complaint list's time; `render_select` writes the same markup in Python.
Template library `crm_forms` (settings.TEMPLATES libraries): `{{ form|bootstrap_form }}`,
`{{ field|bootstrap_field }}`, `{{ field|lean_widget }}` (the widget alone).
"""

from html import escape as html_escape

from django import forms, template
from django.forms.widgets import Input
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeData, mark_safe

register = template.Library()


def _widget_class(widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return ""
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


#
# <select> without a template per option
#


def _lean_select(widget) -> bool:
    """A select drawn by Django's own select templates (not a subclass with its own)."""
    return (
        isinstance(widget, forms.Select)
        and widget.template_name == forms.Select.template_name
        and widget.option_template_name == forms.Select.option_template_name
    )


def _attrs_html(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: False left out, True as a bare name."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            # the |stringformat:'s' of the template: str(), escaped unless already safe
            text = str(value) if isinstance(value, SafeData) else conditional_escape(str(value))
            parts.append(f' {conditional_escape(name)}="{text}"')
    return "".join(parts)


def render_select(widget: dict) -> str:
    """django/forms/widgets/select.html and select_option.html for a widget's context
    (Widget.get_context()["widget"]), character for character."""
    context = Context(autoescape=True)
    parts = [f'<select name="{render_value_in_context(widget["name"], context)}"{_attrs_html(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{render_value_in_context(group_name, context)}">')
        for option in group_choices:
            value, label, attrs = option["value"], option["label"], option["attrs"]
            # plain keys and labels (a model's options: thousands of products) escaped
            # directly, as conditional_escape and render_value_in_context do for them
            kind = type(value)
            if kind is int:
                text = str(value)
            elif kind is str:
                text = html_escape(value)
            else:
                text = str(value) if isinstance(value, SafeData) else conditional_escape(str(value))
            label = html_escape(label) if type(label) is str else render_value_in_context(label, context)
            parts.append(f'\n  <option value="{text}"{_attrs_html(attrs) if attrs else ""}>{label}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")  # the form renderer strips the template's last newline
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


_INPUT_TEMPLATES = {
    f"django/forms/widgets/{name}.html"
    for name in ("input", "text", "number", "email", "url", "search", "tel", "date", "datetime", "time", "hidden")
}


def _lean_input(widget) -> bool:
    """An <input> drawn by Django's input.html (directly or through the one-line
    templates that include it), with Input's own context."""
    return (
        isinstance(widget, Input)
        and widget.template_name in _INPUT_TEMPLATES
        and type(widget).get_context is Input.get_context
    )


def render_input(widget, name: str, value, attrs: dict) -> str:
    """django/forms/widgets/input.html for Widget.get_context's values, character for
    character."""
    value = widget.format_value(value)
    html = f'<input type="{conditional_escape(widget.input_type)}" name="{conditional_escape(name)}"'
    if value is not None:
        text = str(value) if isinstance(value, SafeData) else conditional_escape(str(value))
        html += f' value="{text}"'
    return mark_safe(f"{html}{_attrs_html(widget.build_attrs(widget.attrs, attrs))}>")  # noqa: S308 - escaped above


def as_widget(field, attrs=None):
    """BoundField.as_widget, with plain selects drawn by render_select and plain inputs
    by render_input (no template rendered per field)."""
    widget = field.field.widget
    if _lean_input(widget):
        if field.field.localize:
            widget.is_localized = True
        attrs = field.build_widget_attrs(attrs or {}, widget)
        if field.auto_id and "id" not in widget.attrs:
            attrs.setdefault("id", field.auto_id)
        return render_input(widget, field.html_name, field.value(), attrs)
    if not _lean_select(widget):
        return field.as_widget(attrs=attrs)
    if field.field.localize:
        widget.is_localized = True
    attrs = field.build_widget_attrs(attrs or {}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    html = values_select(widget, field.html_name, field.value(), attrs)
    if html is not None:
        return html
    return render_select(select_context(widget, field.html_name, field.value(), attrs))


def _plain_select(widget) -> bool:
    """A Select whose options are exactly ChoiceWidget's (see select_context)."""
    kind = type(widget)
    return (
        kind.get_context is forms.Select.get_context
        and kind.optgroups is forms.Select.optgroups
        and kind.create_option is forms.Select.create_option
        and not widget.option_inherits_attrs
        and widget.checked_attribute == {"selected": True}
    )


# (model, label fields, label function) -> (the rows, their <option>s, key -> position)
_OPTIONS: dict = {}


def _model_options(choices) -> tuple[list[str], dict[str, int], list[tuple]]:
    """The <option>s of a ValuesChoiceIterator's rows, unselected, drawn once per process
    for as long as the rows read are the same (a thousands-long product list is read on
    every page, but changes seldom): the rows decide, never the key."""
    field = choices.field
    rows = choices.rows()
    slot = (field.options_key, field.label_fields, field.label_from_values)
    known = _OPTIONS.get(slot)
    if known is None or known[0] != rows:
        label = field.label_from_values
        labelled = [(key, label(*values)) for key, *values in rows]
        context = Context(autoescape=True)
        html = [
            f'\n  <option value="{_option_value(key)}">{_option_label(text, context)}</option>\n'
            for key, text in labelled
        ]
        positions = {}
        for index, (key, _text) in enumerate(labelled):
            positions.setdefault(str(key), index)
        known = _OPTIONS[slot] = (rows, html, positions, labelled)
    return known[1], known[2], known[3]


def _option_value(value) -> str:
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return html_escape(value)
    return str(value) if isinstance(value, SafeData) else conditional_escape(str(value))


def _option_label(label, context) -> str:
    return html_escape(label) if type(label) is str else render_value_in_context(label, context)


def values_select(widget, name: str, value, attrs: dict):
    """render_select(select_context(...)) of a single select whose choices are a
    crm_project.filters.ValuesChoiceIterator, with the model's options drawn once
    (_model_options); None for any other select."""
    from .filters import ValuesChoiceIterator

    choices = widget.choices
    if type(choices) is not ValuesChoiceIterator or widget.allow_multiple_selected or not _plain_select(widget):
        return None
    value = widget.format_value(value)
    final_attrs = widget.build_attrs(widget.attrs, attrs)
    context = Context(autoescape=True)
    parts = [f'<select name="{render_value_in_context(name, context)}"{_attrs_html(final_attrs)}>']
    selected = False  # only the first option whose key is chosen, as ChoiceWidget.optgroups
    for key, label in choices.head():
        key = "" if key is None else key
        chosen = not selected and str(key) in value
        selected |= chosen
        parts.append(
            f'\n  <option value="{_option_value(key)}"{" selected" if chosen else ""}>'
            f"{_option_label(label, context)}</option>\n"
        )
    options, positions, labelled = _model_options(choices)
    if not selected:
        found = [positions[text] for text in value if text in positions]
        if found:
            index = min(found)
            key, label = labelled[index]
            options = [
                *options[:index],
                f'\n  <option value="{_option_value(key)}" selected>{_option_label(label, context)}</option>\n',
                *options[index + 1 :],
            ]
    parts.extend(options)
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


def select_context(widget, name: str, value, attrs: dict) -> dict:
    """Select.get_context(...)["widget"]'s name, attrs and optgroups, built directly: a
    Select's options inherit no attributes, so each is its value, label and `selected`
    (ChoiceWidget.optgroups and create_option build and copy attribute dicts per option)."""
    if not _plain_select(widget):
        return widget.get_context(name, value, attrs)["widget"]
    value = widget.format_value(value)
    final_attrs = widget.build_attrs(widget.attrs, attrs)
    multiple = widget.allow_multiple_selected
    if multiple:
        final_attrs["multiple"] = True
    groups = []
    has_selected = False
    for index, (option_value, option_label) in enumerate(widget.choices):
        if option_value is None:
            option_value = ""
        if isinstance(option_label, list | tuple):
            group_name, choices = option_value, option_label
        else:
            group_name, choices = None, [(option_value, option_label)]
        options = []
        for subvalue, sublabel in choices:
            selected = (not has_selected or multiple) and str(subvalue) in value
            has_selected |= selected
            options.append({"value": subvalue, "label": sublabel, "attrs": {"selected": True} if selected else {}})
        groups.append((group_name, options, index))
    return {"name": name, "attrs": final_attrs, "optgroups": groups}


#
# Fields and forms
#


@register.filter
def lean_widget(field):
    """{{ field|lean_widget }}: {{ field }} (BoundField.__str__: the widget, and the hidden
    initial of a field that shows one), with plain inputs and selects drawn by as_widget."""
    if field.field.show_hidden_initial:
        return str(field)
    return as_widget(field)


@register.filter
def bootstrap_field(field):
    """One bound field as crispy's bootstrap5 pack lays it out."""
    widget = field.field.widget
    if field.is_hidden:
        return field.as_widget()
    classes = [c for c in (widget.attrs.get("class", ""), _widget_class(widget)) if c]
    if field.errors:
        classes.append("is-invalid")
    html = as_widget(field, {"class": " ".join(classes)} if classes else None)
    label = conditional_escape(field.label or "")
    required = mark_safe('<span class="asteriskField">*</span>') if field.field.required and label else ""
    # the first error carries the id the widget's aria-describedby names (Django's "<id>_error")
    errors = format_html_join(
        "",
        '<div{} class="invalid-feedback d-block"><strong>{}</strong></div>',
        (
            (format_html(' id="{}_error"', field.auto_id) if number == 0 and field.auto_id else "", error)
            for number, error in enumerate(field.errors)
        ),
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
