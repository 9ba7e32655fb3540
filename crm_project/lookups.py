"""`field__in_array=<subquery>`: `field IN (subquery)`, written for PostgreSQL as
`field = ANY(ARRAY(subquery))` (issue 15).

The same rows. The difference is the planner's: an uncorrelated `IN (subquery)` inside an
OR becomes a "hashed SubPlan" whose start-up cost the planner charges again on every
rescan of the scan it filters, so a nested loop probing customers by key looks dearer than
reading all 50,000 customers into a hash join. A manager's scope (their customers, the
pool, or customers handed over to them) is such an OR: the complaint list's count
hashed every customer (7 ms on a quiet machine, 20-40 ms under load) to count 1,000
complaints. `ANY(ARRAY(subquery))` is an InitPlan, run once and costed once, and the
count probes the customers it counts. Other databases get the plain `IN`.
"""

from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


class InArray(In):
    lookup_name = "in_array"

    def get_rhs_op(self, connection, rhs):
        if connection.vendor == "postgresql" and not self.rhs_is_direct_value():
            return f"= ANY(ARRAY{rhs})"  # rhs is "(SELECT ...)"
        return super().get_rhs_op(connection, rhs)


def install() -> None:
    Field.register_lookup(InArray)
    # relations read their own lookups only (ForeignObject.get_class_lookups): `customer_id__in_array`
    ForeignObject.register_lookup(InArray)


install()
