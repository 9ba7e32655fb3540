"""The portrait matrix's checkboxes drawn in Python (customers.portrait_html)."""

from django import template

from ..portrait_html import portrait_head, portrait_rows

register = template.Library()
register.simple_tag(portrait_head)
register.simple_tag(portrait_rows)
