"""The shared pages (crm_project and the shared templates) go through translation: the
list page's recipe (generic/object_list.html, its filters and page links drawn in Python),
the upload form every importer shares, the error and log-in pages."""

import io

import pytest
from django.urls import reverse

from crm_project.imports import SpreadsheetUploadForm
from tests import fake_catalog
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

WORDS = {
    # templates
    "Apply": "Appliquer",
    "filters\x04Reset": "Réinitialiser",
    "Export %(format)s": "Exporter %(format)s",
    "Log in": "Se connecter",
    "Not found": "Introuvable",
    # choices of crm_project.filters.YesNoFilter
    "Any": "Peu importe",
    "Yes": "Oui",
    # Python: crm_project.tables, crm_project.imports
    "Table navigation": "Navigation du tableau",
    "Dry run": "Essai à blanc",
    "Upload a .csv or .xlsx file.": "Envoyez un fichier .csv ou .xlsx.",
}
PLURALS = {("%(n)s found", "%(n)s found"): ("%(n)s trouvé", "%(n)s trouvés")}


@pytest.fixture
def french():
    with fake_catalog.french(WORDS, PLURALS):
        yield


def test_the_list_page_recipe_in_french(mgr_a, client_for, settings, french):
    CustomerFactory.create_batch(26, manager=mgr_a)  # 25 a page: two pages
    html = client_for(mgr_a).get(reverse("customers:customer_list")).content.decode()
    # the template's words, its plural and its attribute-free button text
    assert ">Appliquer</button>" in html and ">Réinitialiser</a>" in html and ">Exporter CSV</a>" in html
    assert "26 trouvés" in html and "26 found" not in html
    # the yes/no filter's choices (crm_project.filters)
    assert ">Peu importe</option>" in html and ">Oui</option>" in html
    # the page links drawn in Python (crm_project.tables)
    assert '<nav aria-label="Navigation du tableau">' in html and "Table navigation" not in html


def test_the_list_page_recipe_in_english(mgr_a, client_for):
    CustomerFactory.create_batch(26, manager=mgr_a)
    html = client_for(mgr_a).get(reverse("customers:customer_list")).content.decode()
    assert ">Apply</button>" in html and ">Reset</a>" in html and ">Export CSV</a>" in html
    assert ">26 found<" in html and '<nav aria-label="Table navigation">' in html
    assert ">Any</option>" in html


def test_the_shared_upload_form_in_french(dir_1, client_for, french):
    assert "Essai à blanc" in str(SpreadsheetUploadForm()["dry_run"].label_tag())
    # the customer import's form keeps the shared file check
    upload = io.BytesIO(b"name\nX\n")
    upload.name = "customers.pdf"
    response = client_for(dir_1).post(reverse("customers:customer_import"), {"file": upload})
    assert response.context["form"].errors["file"] == ["Envoyez un fichier .csv ou .xlsx."]


def test_the_log_in_and_not_found_pages_in_french(mgr_a, client, client_for, french):
    html = client.get(reverse("login")).content.decode()
    assert '<h1 class="h3 mb-3">Se connecter</h1>' in html and ">Se connecter</button>" in html
    missing = client_for(mgr_a).get("/no-such-page/")
    assert missing.status_code == 404 and "Introuvable" in missing.content.decode()
