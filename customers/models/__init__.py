from .agenda import Greeting, Holiday, Interaction, LastInteraction, PlannedContact
from .catalogue import CustomerProduct, PortraitEntry, Product, ProductLine, Segment, SegmentRule
from .contacts import Competitor, Contact, CustomerCompetitor
from .customer import Customer, CustomerQuerySet, normalize_name
from .sessions import LoginSession
from .teams import SalesTeam, TeamMembership

__all__ = [
    "Competitor",
    "Contact",
    "Customer",
    "CustomerCompetitor",
    "CustomerProduct",
    "CustomerQuerySet",
    "Greeting",
    "Holiday",
    "Interaction",
    "LastInteraction",
    "LoginSession",
    "PlannedContact",
    "PortraitEntry",
    "Product",
    "ProductLine",
    "SalesTeam",
    "Segment",
    "SegmentRule",
    "TeamMembership",
    "normalize_name",
]
