"""The customer card's repetitive parts drawn in Python (customers.product_row_html)."""

from django import template

from ..product_row_html import product_badges, product_options

register = template.Library()
register.simple_tag(product_badges)
register.simple_tag(product_options)
