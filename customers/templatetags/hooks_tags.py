"""Rendering what other apps contribute through crm_project.hooks."""

from django import template
from django.template.loader import get_template

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panel(context, panel):
    """A hooks.Panel or hooks.Widget: its template with the page's context plus its own."""
    with context.push(**panel.context):
        return get_template(panel.template).template.render(context)
