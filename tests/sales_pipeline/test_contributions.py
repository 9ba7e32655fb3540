"""What the pipeline shows on the customers app's pages through crm_project.hooks."""


def test_the_agenda_row_shows_the_customers_most_advanced_open_deal(db):
    from decimal import Decimal

    from customers.models import PlannedContact
    from customers.selectors.agenda import agenda_contacts, agenda_dossier
    from sales_pipeline.models import Deal
    from tests.factories import CustomerFactory, SalesTeamFactory, make_manager

    manager = make_manager("agenda_deals", SalesTeamFactory(name="Agenda deals"))
    customer = CustomerFactory(manager=manager)
    Deal.objects.create(customer=customer, manager=manager, title="Small", sale_type="short_push", stage=1)
    Deal.objects.create(customer=customer, manager=manager, title="Big", sale_type="long_pull", stage=3,
                        amount=Decimal("1200"))
    Deal.objects.create(customer=customer, manager=manager, title="Gone", sale_type="long_pull", stage=5,
                        status="lost")
    PlannedContact.objects.create(customer=customer, manager=manager, due_date="2026-11-26", purpose="Call")
    (row,) = agenda_dossier(agenda_contacts(manager))
    (item,) = row.dossier_items  # the pipeline's line, through hooks.AGENDA_DOSSIER
    big = Deal.objects.get(title="Big")
    assert (item.label, item.text, item.url) == ("Open deal", "Agreement · 1200.00", big.get_absolute_url())
