"""Loyalty in the browser: issue a card to a customer, the customer pays a deal (the
pipeline's payment service) and earns points, points are redeemed at the point of sale
after a confirmation, and the customer card shows the balance and the ledger."""

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from loyalty.models import Card, Program
from sales_pipeline.models import Stage
from tests.browser.waiting import wait_for
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, SalesTeamFactory, make_manager
from tests.sales_pipeline.test_pipeline import advance, open_deal, pay_in_full

from .test_deal_flow import choose, submit_and_wait

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_issue_accrue_redeem_and_see_it_on_the_customer_card(page):
    manager = make_manager("mgr_loyal", SalesTeamFactory(name="Loyal team"))
    customer = CustomerFactory(name="Loyal Bakery", manager=manager)
    program = Program.objects.create(
        name="Bonus club",
        kind=Program.Kind.POINTS,
        earn_rate=Decimal("0.1"),
        point_value=Decimal("0.5"),
        expiry_days=365,
    )
    driver = page.driver
    page.login("mgr_loyal", PASSWORD)

    # issue a card from the customer card's loyalty panel
    page.open(customer.get_absolute_url())
    submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#card-loyalty a.btn"))
    choose(driver, "id_program", str(program.pk))
    assert driver.find_element(By.ID, "id_holder").get_attribute("value") == str(customer.pk)
    submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#card-issue-form button[type=submit]"))
    card = Card.objects.get(holder=customer)
    assert driver.find_element(By.ID, "card-number").text == card.number

    # the customer pays 1,500 for a deal: 150 points once the payment is committed
    deal = advance(open_deal(manager, customer, lines=[(Decimal("1500.00"), 1, 0)]), Stage.PAYMENT, manager)
    pay_in_full(deal, manager)
    card.refresh_from_db()
    assert card.balance == 150

    # at the point of sale: look the card up with an amount, redeem 40 points, confirm
    page.open("/loyalty/pos/")
    driver.find_element(By.ID, "id_q").send_keys(card.number)
    driver.find_element(By.ID, "id_amount").send_keys("200")
    submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#pos-lookup button"))
    assert driver.find_element(By.CSS_SELECTOR, ".pos-balance").text == "150"
    driver.find_element(By.ID, f"points-{card.pk}").send_keys("40")
    submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, ".pos-redeem button"))
    assert "Redeem 40 points (worth 20.00)" in driver.find_element(By.ID, "confirm-text").text
    submit_and_wait(driver, driver.find_element(By.ID, "confirm-redeem"))
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".alert-success")))
    assert driver.find_element(By.CSS_SELECTOR, ".pos-balance").text == "110"

    # the customer card shows the balance and the ledger
    page.open(customer.get_absolute_url())
    panel = driver.find_element(By.ID, "card-loyalty")
    assert panel.find_element(By.CSS_SELECTOR, ".loyalty-balance").text == "110"
    ledger = panel.find_element(By.ID, "loyalty-ledger").text
    assert "Redemption -40" in ledger and "Accrual 150" in ledger
    assert page.console_errors() == []
    driver.save_screenshot("/tmp/issue-13-customer-card.png")
