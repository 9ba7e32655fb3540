from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from complaints import services
from complaints.models import Survey
from customers.models import Customer, Product


class Command(BaseCommand):
    help = (
        "Survey a customer about a product: create the survey for the customer's main contact, e-mail it, "
        "and print the public link as the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("customer_ref", help="The customer's external reference.")
        parser.add_argument("--product", required=True, help="The product's SKU.")
        parser.add_argument("--base-url", default=None, help="Where the link points (default: SITE_URL).")

    def handle(self, *args, customer_ref: str, product: str, base_url: str | None, **options):
        customer = Customer.objects.filter(external_ref=customer_ref).first()
        if customer is None:
            raise CommandError(f"No customer with the external reference {customer_ref!r}.")
        found = Product.objects.filter(sku=product).first()
        if found is None:
            raise CommandError(f"No product with the SKU {product!r}.")
        try:
            # The survey and its e-mail together: no address, no survey left behind.
            with transaction.atomic():
                survey, token = services.survey_create(customer=customer, product=found,
                                                       channel=Survey.Channel.EMAIL, reason=Survey.Reason.MANUAL)
                link = services.survey_send(survey=survey, token=token, base_url=base_url)
        except services.SurveyNotSent as error:
            # Raised inside the block: the survey was rolled back, nothing waits for a retry.
            raise CommandError(f"The e-mail was not sent ({error.reason}); nothing was saved.") from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Survey {survey.pk} e-mailed to {services.survey_recipient(survey)}.")
        self.stdout.write(link)
