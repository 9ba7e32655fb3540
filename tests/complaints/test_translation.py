"""The complaint pages, the customer's public survey and its e-mail in another language:
the templates' words, the models' labels and choices, and the labels written in Python
(forms, the next step's name, the e-mail) all go through translation. A fake French
catalog of a few words (the project has none yet)."""

import pytest
from django.core import mail
from django.urls import reverse

from complaints import forms, services
from complaints.models import Severity
from sales_pipeline.documents import MAX_UPLOAD_BYTES
from tests import fake_catalog

pytestmark = pytest.mark.django_db

# The forms imported above, before any test turns French on, as a server imports them at
# start: a label formatted at import would stay in the language of that moment.
assert forms.ComplaintForm

WORDS = {
    # templates
    "Timeline": "Chronologie",
    "Send": "Envoyer",
    "A minute of your time: score each question from 1 to 5.": "Une minute : notez chaque question de 1 à 5.",
    # choices and model labels
    "Registered complaint": "Réclamation enregistrée",
    "High": "Haute",
    "Investigating": "En cours d'analyse",
    "customer": "client",
    # Python: form labels and help texts, the e-mail
    "Note for the timeline": "Note pour la chronologie",
    "PDF, office document or image, up to %(mb)s MB.": "PDF, document bureautique ou image, jusqu'à %(mb)s Mo.",
    "How satisfied are you with %(product)s?": "Êtes-vous satisfait de %(product)s ?",
}


@pytest.fixture
def french():
    with fake_catalog.french(WORDS):
        yield


def test_the_complaint_page_and_form_in_french(cust_a, mgr_a, client_for, french):
    complaint = services.complaint_register(customer=cust_a, owner=mgr_a, description="Film torn", actor=mgr_a,
                                            severity=Severity.HIGH)
    client = client_for(mgr_a)
    html = client.get(complaint.get_absolute_url()).content.decode()
    assert ">Chronologie</h2>" in html  # the template
    assert ">Réclamation enregistrée</span>" in html and ">Haute</span>" in html  # the choices' labels
    assert "Next step: En cours d&#x27;analyse" in html  # the next step's label, from Python
    assert "Note pour la chronologie" in html  # the step form's label
    for english in ("Timeline", "Registered complaint", ">High<", "Note for the timeline"):
        assert english not in html, english
    form = client.get(reverse("complaints:complaint_create")).content.decode()
    # the attachment's help text, formatted when shown (not at import, in the language of then)
    assert f"PDF, document bureautique ou image, jusqu'à {MAX_UPLOAD_BYTES // 1024**2} Mo." in form
    surveys = client.get(reverse("complaints:survey_list")).content.decode()
    assert ">Client</a></th>" in surveys  # the survey table's column: the model field's label


def test_the_public_survey_and_its_e_mail_in_french(cust_a, contact_a, product, questionnaire, client, french):
    survey, token = services.survey_create(customer=cust_a, product=product)
    services.survey_send(survey=survey, token=token, base_url="https://crm.example/")
    (message,) = mail.outbox
    assert message.subject == "Êtes-vous satisfait de Shrink film roll ?"
    html = client.get(f"/s/{token}/").content.decode()
    assert '<html lang="fr">' in html
    assert "Une minute : notez chaque question de 1 à 5." in html and ">Envoyer</button>" in html
