"""A deal from presentation to closing in the browser, with a partial payment and a move
on the board through htmx; a deal lost at the offer stage with a reason; and cards
dragged between the board's columns, as far as the stage rules allow."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from tests.browser.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", customers=60, seed=1, verbosity=0)


def set_value(driver, element_id, value):
    # a date input's typed format depends on the browser's locale, so its value is set directly
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, element_id), value)


def choose(driver, element_id, value):
    # Selenium's Select leaves headless Chromium's option popup open over the page
    driver.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change', {bubbles: true}))",
        driver.find_element(By.ID, element_id),
        value,
    )


def submit_and_wait(driver, button):
    """Click a button that submits a form and wait for the next page to load."""
    old_page = driver.find_element(By.TAG_NAME, "html")
    # Bootstrap scrolls smoothly: jump instead, or the click lands mid-scroll
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", button)
    button.click()
    wait_for(driver, EC.staleness_of(old_page))
    wait_for(driver, EC.presence_of_element_located((By.ID, "main")))


def save_stage(driver, **values):
    """Fill the stage panel (dates as ISO strings), save it, and wait for the page to come back."""
    for name, value in values.items():
        element = driver.find_element(By.ID, f"id_stage_{name}")
        if element.get_attribute("type") == "date":
            set_value(driver, f"id_stage_{name}", value)
        else:
            element.clear()
            element.send_keys(value)
    submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#stage-form button[type=submit]"))
    assert "data saved" in driver.find_element(By.CSS_SELECTOR, "#main .alert").text


def move_on(driver, to_label):
    submit_and_wait(driver, driver.find_element(By.ID, "move-forward"))
    assert to_label in driver.find_element(By.CSS_SELECTOR, ".stage-steps li.current").text


def pay(driver, amount, kind="payment"):
    choose(driver, "id_kind", kind)
    driver.find_element(By.ID, "id_amount").send_keys(amount)
    submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#payment-form button[type=submit]"))
    assert "recorded" in driver.find_element(By.CSS_SELECTOR, "#main .alert").text


def test_a_manager_takes_a_deal_from_presentation_to_closing_with_a_partial_payment(demo, page):
    from customers.models import Customer, PlannedContact, Product
    from sales_pipeline.models import Deal, SettlementLine

    driver = page.driver
    today = timezone.localdate()
    customer = Customer.objects.filter(manager__username="manager1").order_by("pk").first()
    product = Product.objects.get(sku="EQ-100")

    # given manager1 on their customer's card, which lists the open deals
    page.login("manager1", "demo12345")
    page.open(customer.get_absolute_url())
    # when they open a new deal from it, with one product line of 2 x 1,500 less 10 %
    driver.find_element(By.CSS_SELECTOR, "#card-deals a[href*='/deals/new/']").click()
    wait_for(driver, EC.presence_of_element_located((By.ID, "id_title")))
    title = driver.find_element(By.ID, "id_title")
    title.clear()
    title.send_keys("Browser flow deal")
    choose(driver, "id_sale_type", "long_pull")
    choose(driver, "id_lines-0-product", str(product.pk))
    driver.find_element(By.ID, "id_lines-0-quantity").clear()
    driver.find_element(By.ID, "id_lines-0-quantity").send_keys("2")
    driver.find_element(By.ID, "id_lines-0-price").send_keys("1500")
    discount = driver.find_element(By.ID, "id_lines-0-discount")
    discount.clear()
    discount.send_keys("10", Keys.ENTER)  # Enter submits
    # then the deal opens at Presentation with its amount
    wait_for(driver, EC.presence_of_element_located((By.ID, "stage-panel")))
    deal = Deal.objects.get(title="Browser flow deal")
    assert deal.customer == customer and deal.amount == Decimal("2700.00")
    assert driver.find_element(By.ID, "deal-amount").text == "2,700.00"

    # moving on without the minutes is refused, with what is missing
    submit_and_wait(driver, driver.find_element(By.ID, "move-forward"))
    assert "minutes were sent" in driver.find_element(By.CSS_SELECTOR, "#main .alert-danger").text

    # Presentation -> Offer
    save_stage(driver, minutes_sent=today.isoformat())
    move_on(driver, "Commercial offer")
    save_stage(driver, offer_sent=today.isoformat(), offer_expires=(today + timedelta(days=14)).isoformat())

    # Offer -> Agreement on the board: the card's forward button moves it through htmx
    driver.find_element(By.LINK_TEXT, "Board").click()
    card = wait_for(driver, EC.presence_of_element_located((By.ID, f"deal-card-{deal.pk}")))
    card.find_element(By.CSS_SELECTOR, "button.deal-forward").click()
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, f"#board-cards-3 #deal-card-{deal.pk}")))
    assert not driver.find_elements(By.CSS_SELECTOR, f"#board-cards-2 #deal-card-{deal.pk}")
    assert Deal.objects.get(pk=deal.pk).stage == 3

    # Agreement -> Payment
    driver.find_element(By.CSS_SELECTOR, f"#deal-card-{deal.pk} a").click()
    wait_for(driver, EC.presence_of_element_located((By.ID, "stage-form")))
    save_stage(driver, contract_signed=today.isoformat(), signatories="Jane Smith, CEO")
    move_on(driver, "Payment")

    # Payment: the invoice and a 50 % advance are enough to deliver
    save_stage(
        driver, invoice_number="INV-B1", invoice_date=today.isoformat(),
        invoice_expires=(today + timedelta(days=10)).isoformat(),
    )  # fmt: skip
    pay(driver, "1350")
    assert driver.find_element(By.ID, "deal-paid").text == "1,350.00"
    assert driver.find_element(By.ID, "deal-due").text == "1,350.00"
    move_on(driver, "Delivery")

    # Delivery: the event took place today; the rest is paid after delivery
    save_stage(driver, event_date=today.isoformat(), preparation_agreed="Floor space cleared")
    pay(driver, "1350")
    assert driver.find_element(By.ID, "deal-due").text == "0.00"
    move_on(driver, "Closing")

    # Closing: the proposed act, survey and next-contact dates are kept, and the deal is won
    save_stage(driver)
    driver.find_element(By.ID, "id_closing_grade").send_keys("5")
    driver.find_element(By.ID, "close-won").click()
    wait_for(driver, EC.text_to_be_present_in_element((By.ID, "deal-status"), "Won"))
    deal.refresh_from_db()
    assert (deal.status, deal.closing_grade, deal.survey_date) == ("won", 5, today + timedelta(days=14))
    assert PlannedContact.objects.filter(customer=customer, due_date=deal.next_contact, status="planned").exists()
    assert list(SettlementLine.objects.filter(document="INV-B1").values_list("amount", flat=True)) == [1350, 1350]
    timeline = driver.find_element(By.ID, "deal-timeline").text
    assert "Moved on from Commercial offer to Agreement" in timeline and "Won at Closing" in timeline
    assert page.console_errors() == []


def test_a_deal_is_lost_at_the_offer_stage_with_a_reason(demo, page):
    from customers.models import Customer, CustomerProduct
    from sales_pipeline.services import deals as deal_services
    from tests.sales_pipeline.test_pipeline import advance

    # given a deal of manager1 at the offer stage
    manager = Customer.objects.filter(manager__username="manager1").first().manager
    customer = Customer.objects.filter(manager=manager, deals__isnull=True).order_by("pk").first()
    from customers.models import Product

    deal = deal_services.deal_create(
        customer=customer, manager=manager, title="Offer to lose", sale_type="short_push", actor=manager,
        lines=[{"product": Product.objects.get(sku="CO-010"), "price": Decimal("80"), "quantity": 10, "discount": 0}],
    )  # fmt: skip
    deal = advance(deal, 2, manager)
    driver = page.driver
    page.login("manager1", "demo12345")
    page.open(deal.get_absolute_url())

    # when they mark it lost with a reason of the offer stage and a comment
    driver.find_element(By.ID, "deal-lose").click()
    reason = Select(wait_for(driver, EC.presence_of_element_located((By.ID, "id_reason"))))
    offered = [option.text for option in reason.options[1:]]
    assert "Price too high" in offered and "No need at the moment" not in offered  # only the offer stage's reasons
    assert not driver.find_elements(By.ID, "id_retry_date")  # a retry date is for presentations
    choose(driver, "id_reason", next(o.get_attribute("value") for o in reason.options if o.text == "Price too high"))
    driver.find_element(By.ID, "id_comment").send_keys("A competitor was 15 % cheaper")
    driver.find_element(By.CSS_SELECTOR, "form button.btn-danger").click()

    # then the deal is lost with its reason, and the customer's product is refused
    wait_for(driver, EC.text_to_be_present_in_element((By.ID, "deal-status"), "Lost"))
    assert "Price too high" in driver.find_element(By.ID, "deal-lost").text
    deal.refresh_from_db()
    assert (deal.status, deal.stage, deal.lost_reason.text) == ("lost", 2, "Price too high")
    status = CustomerProduct.objects.get(customer=customer, product__sku="CO-010")
    assert status.status == "refused" and "Price too high" in status.refusal_reason
    assert page.console_errors() == []


DRAG = """
const card = document.getElementById(arguments[0]);
const column = document.querySelector('[data-drop-stage="' + arguments[1] + '"] .board-cards');
const data = new DataTransfer();
card.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: data}));
column.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: data}));
column.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: data}));
card.dispatchEvent(new DragEvent('dragend', {bubbles: true, dataTransfer: data}));
"""


def test_a_card_dragged_on_the_board_moves_only_as_the_stage_rules_allow(demo, page):
    from customers.models import Customer
    from sales_pipeline.models import Deal
    from tests.sales_pipeline.test_pipeline import advance, open_deal

    # given manager1's newest deals: one at Delivery, one at Presentation without minutes
    customer = Customer.objects.filter(manager__username="manager1").order_by("pk").first()
    at_delivery = advance(open_deal(customer.manager, customer, title="Drag me back"), 5, customer.manager)
    at_presentation = open_deal(customer.manager, customer, title="Drag me far")
    driver = page.driver
    page.login("manager1", "demo12345")
    page.open("/deals/")
    wait_for(driver, EC.presence_of_element_located((By.ID, f"deal-card-{at_delivery.pk}")))
    count_4 = int(driver.find_element(By.CSS_SELECTOR, "#board-head-4 .board-count").text)

    # when the Delivery card is dragged back onto Payment, then it moves and the column counts follow
    driver.execute_script(DRAG, f"deal-card-{at_delivery.pk}", 4)
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, f"#board-cards-4 #deal-card-{at_delivery.pk}")))
    head = (By.CSS_SELECTOR, "#board-head-4 .board-count")
    wait_for(driver, EC.text_to_be_present_in_element(head, str(count_4 + 1)))
    assert Deal.objects.get(pk=at_delivery.pk).stage == 4

    # when the Presentation card is dragged two stages on, then it stays, with the reason
    driver.execute_script(DRAG, f"deal-card-{at_presentation.pk}", 3)
    wait_for(
        driver, EC.text_to_be_present_in_element((By.ID, f"deal-card-{at_presentation.pk}"), "one stage at a time")
    )
    assert driver.find_elements(By.CSS_SELECTOR, f"#board-cards-1 #deal-card-{at_presentation.pk}")
    assert Deal.objects.get(pk=at_presentation.pk).stage == 1
    assert page.console_errors() == []
