"""The customer card's repetitive parts drawn in Python (customers.product_row_html, customers.timeline_html)."""

from django import template

from ..product_row_html import product_badges, product_options
from ..timeline_html import interaction_rows, planned_rows

register = template.Library()
register.simple_tag(product_badges)
register.simple_tag(product_options)
register.simple_tag(interaction_rows)
register.simple_tag(planned_rows)
