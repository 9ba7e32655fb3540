"""{% control_point_rows points %}: the control points table's rows, drawn in Python
(sales_pipeline.control_point_rows)."""

from django import template

from ..control_point_rows import control_point_rows

register = template.Library()
register.simple_tag(control_point_rows, name="control_point_rows")
