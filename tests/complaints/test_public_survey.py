"""The customer's login-free survey link: answered once, then closed; expired and tampered
links show a friendly page and save nothing; the page names nothing but the product."""

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, Response, Survey
from tests.factories import CustomerFactory


@pytest.fixture
def link(cust_a, contact_a, product, questionnaire):
    survey, token = services.survey_create(customer=cust_a, product=product)
    return survey, f"/s/{token}/"


def answer_data(questions, *values):
    data = {f"q{q.pk}": str(v) for q, v in zip(questions, values, strict=True)}
    data["comment"] = "Packaging could be better"
    return data


def test_the_form_shows_the_product_and_nothing_about_any_customer(link, cust_a, cust_c, client):
    survey, url = link
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Shrink film roll" in page and "Product quality" in page
    for secret in (cust_a.name, cust_c.name, "Anna Alpha", "anna@alpha.example", cust_a.external_ref):
        assert secret not in page
    assert 'name="viewport"' in page  # laid out for phones


def test_answering_with_a_3_opens_a_hidden_dissatisfaction_complaint(link, questions, mgr_a, client):
    survey, url = link
    response = client.post(url, answer_data(questions, 5, 3, 4))
    assert response.status_code == 200 and b"Thank you" in response.content
    complaint = Complaint.objects.get()
    assert (complaint.kind, complaint.owner, complaint.response.survey) == ("hidden", mgr_a, survey)
    assert Response.objects.get().filled_by is None


def test_a_used_link_shows_a_friendly_page_and_saves_nothing_more(link, questions, client):
    survey, url = link
    client.post(url, answer_data(questions, 2, 2, 2))
    again = client.post(url, answer_data(questions, 1, 1, 1))
    assert again.status_code == 410 and b"answered already" in again.content
    assert client.get(url).status_code == 410
    assert Response.objects.count() == 1 and Complaint.objects.count() == 1
    assert set(Response.objects.get().answers.values_list("score", flat=True)) == {2}


def test_an_expired_link_shows_a_friendly_page_and_saves_nothing(link, questions, client):
    survey, url = link
    Survey.objects.filter(pk=survey.pk).update(expires=timezone.now() - timedelta(minutes=1))
    for response in (client.get(url), client.post(url, answer_data(questions, 1, 1, 1))):
        assert response.status_code == 410 and b"expired" in response.content
    assert not Response.objects.exists() and not Complaint.objects.exists()


@pytest.mark.parametrize("mangle", [lambda t: t[:-2], lambda t: t + "x", lambda t: t.upper(), lambda t: "x" * 200])
def test_a_tampered_link_shows_a_friendly_page_and_saves_nothing(mangle, link, questions, client):
    survey, url = link
    token = url.split("/")[2]
    bad = f"/s/{mangle(token)}/"
    for response in (client.get(bad), client.post(bad, answer_data(questions, 1, 1, 1))):
        assert response.status_code == 404 and b"not valid" in response.content
        assert b"Shrink film" not in response.content
    assert not Response.objects.exists() and not Complaint.objects.exists()


def test_a_missing_score_shows_the_form_again_and_saves_nothing(link, questions, client):
    survey, url = link
    data = answer_data(questions, 1, 1, 1)
    del data[f"q{questions[1].pk}"]
    response = client.post(url, data)
    assert response.status_code == 400 and b"Give a score from 1 to 5" in response.content
    assert not Response.objects.exists()


def test_another_customers_link_opens_only_that_customers_survey(link, mgr_c, product, questionnaire, client):
    other = CustomerFactory(name="Other Co", manager=mgr_c)
    _survey, token = services.survey_create(customer=other, product=product)
    page = client.get(f"/s/{token}/").content.decode()
    assert "Other Co" not in page and "Alpha Works" not in page
