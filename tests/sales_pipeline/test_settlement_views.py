"""The settlement pages: upload, run page with its progress fragment, past imports, ledger."""

import csv
import io
from datetime import date

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from crm_project import locks
from sales_pipeline import forms
from sales_pipeline.models import SettlementImport, SettlementLine
from sales_pipeline.services import imports as services
from tests.elsewhere import held_elsewhere
from tests.factories import CustomerFactory, ProductFactory, SettlementLineFactory

IMPORT_URL = reverse("sales_pipeline:settlement_import")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(name="lines.csv", content=None):
    if content is None:
        content = b"customer,date,product,amount,document\nC1,2024-05-01,P1,10.50,INV1\nC1,2024-05-02,P1,-2,CR1\n"
    return SimpleUploadedFile(name, content, content_type="text/csv")


def detail_url(run):
    return reverse("sales_pipeline:settlement_import_detail", args=[run.pk])


def progress_url(run):
    return reverse("sales_pipeline:settlement_import_progress", args=[run.pk])


@pytest.fixture
def cust_1(mgr_a):
    ProductFactory(sku="P1")
    return CustomerFactory(external_ref="C1", manager=mgr_a)


#
# Upload
#


def test_a_director_uploads_a_file_and_the_run_page_shows_the_counts(
    cust_1, dir_1, client_for, django_capture_on_commit_callbacks
):
    # given the director of mgr_a's team
    client = client_for(dir_1)
    assert client.get(IMPORT_URL).status_code == 200
    # when they upload a file (the task runs in-process once the run is committed)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(IMPORT_URL, {"file": upload()})
    # then they land on the run page, which shows it done with its counts
    run = SettlementImport.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(run)
    page = client.get(detail_url(run))
    assert page.status_code == 200
    assert run.created_by == dir_1 and run.file_name == "lines.csv"
    assert page.context["run"].status == "done"
    content = page.content.decode()
    assert "Import finished." in content and '<td class="text-end" id="lines-created">2</td>' in content
    assert 'hx-trigger="every 1s"' not in content  # finished: nothing polls
    assert SettlementLine.objects.count() == 2


def test_a_bad_file_shows_every_error_with_line_and_column(
    cust_1, dir_1, client_for, django_capture_on_commit_callbacks
):
    content = b"customer,date,product,amount\nC1,2024-05-01,P1,1\nC1,yesterday,P1,1\nC1,2024-05-01,P9,<b>1</b>\n"
    client = client_for(dir_1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(IMPORT_URL, {"file": upload(content=content)})
    page = client.get(detail_url(SettlementImport.objects.get())).content.decode()
    assert "Nothing was imported" in page
    assert "<td>3</td><td>date</td>" in page
    assert "<td>4</td><td>product</td>" in page and "<td>4</td><td>amount</td>" in page
    assert "&lt;b&gt;1&lt;/b&gt;" in page and "<b>1</b>" not in page  # the value is shown, escaped
    assert SettlementLine.objects.count() == 0


def test_the_upload_enqueues_the_task_only_after_commit(dir_1, client_for, django_capture_on_commit_callbacks):
    client = client_for(dir_1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(IMPORT_URL, {"file": upload()})
    run = SettlementImport.objects.get()
    assert run.status == "pending" and len(callbacks) == 1


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("lines.txt", b"customer\n", "Upload a .csv or .xlsx file."),
        ("picture.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "This is not a CSV text file. Save the sheet as"),
        ("lines.xlsx", b"customer,date\n", "This is not an XLSX file."),
    ],
)
def test_a_wrong_file_is_a_form_error(dir_1, client_for, name, content, message):
    response = client_for(dir_1).post(IMPORT_URL, {"file": upload(name, content)})
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert error.startswith(message)
    assert not SettlementImport.objects.exists()


def test_a_file_over_the_size_limit_is_a_form_error(dir_1, client_for, monkeypatch):
    monkeypatch.setattr(forms.SettlementImportForm, "max_bytes", 10)
    response = client_for(dir_1).post(IMPORT_URL, {"file": upload()})
    assert "the limit is 0 MB" in response.context["form"].errors["file"][0]
    assert not SettlementImport.objects.exists()


def test_managers_may_not_import(mgr_a, client_for):
    client = client_for(mgr_a)
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(IMPORT_URL, {"file": upload()}).status_code == 403
    assert client.get(reverse("sales_pipeline:settlement_import_list")).status_code == 403
    assert not SettlementImport.objects.exists()


def test_an_admin_may_import(admin_user, client_for):
    assert client_for(admin_user).get(IMPORT_URL).status_code == 200


#
# Whose runs
#


def test_another_users_run_is_a_404_but_an_admin_sees_it(dir_1, team_1, admin_user, client_for):
    from tests.factories import make_director

    other = make_director("dir_2", team_1)
    run = SettlementImport.objects.create(file_name="secret.csv", created_by=other)
    client = client_for(dir_1)
    assert client.get(detail_url(run)).status_code == 404
    assert client.get(progress_url(run)).status_code == 404
    listing = client.get(reverse("sales_pipeline:settlement_import_list")).content.decode()
    assert "secret.csv" not in listing
    admin = client_for(admin_user)
    assert admin.get(detail_url(run)).status_code == 200
    assert "secret.csv" in admin.get(reverse("sales_pipeline:settlement_import_list")).content.decode()


def test_the_list_shows_my_runs(dir_1, client_for):
    SettlementImport.objects.create(file_name="mine.csv", created_by=dir_1, status="done", lines_created=7)
    response = client_for(dir_1).get(reverse("sales_pipeline:settlement_import_list"))
    assert response.status_code == 200
    assert [row.record.file_name for row in response.context["table"].rows] == ["mine.csv"]


#
# Progress
#


def test_the_progress_fragment_polls_while_running_and_stops_when_done(dir_1, client_for):
    # given a running import that has written 250 of 1,000 lines
    run = SettlementImport.objects.create(file_name="big.csv", created_by=dir_1, status="running")
    cache.set(services.progress_cache_key(run.pk), {"rows_done": 250, "rows_total": 1000, "phase": "writing"})
    client = client_for(dir_1)
    # when the page polls its fragment
    with importing_elsewhere(run):
        fragment = client.get(progress_url(run), HTTP_HX_REQUEST="true").content.decode()
    # then it shows the progress and keeps polling
    assert 'hx-trigger="every 1s"' in fragment and f'hx-get="{progress_url(run)}"' in fragment
    assert "Writing: 250 of 1,000 lines" in fragment and 'data-percent="25"' in fragment
    assert 'style="' not in fragment  # the CSP forbids inline styles; JS sets the width
    # and once the run is done it shows the summary and stops
    run.status, run.rows_total, run.lines_created = "done", 1000, 1000
    run.save()
    fragment = client.get(progress_url(run), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment and "Import finished." in fragment


def test_the_run_page_loads_its_script_from_static(dir_1, client_for):
    run = SettlementImport.objects.create(file_name="x.csv", created_by=dir_1)
    page = client_for(dir_1).get(detail_url(run)).content.decode()
    assert "sales_pipeline/import_progress.js" in page and "Waiting to start" in page


#
# The ledger
#


@pytest.fixture
def ledger(mgr_a, mgr_b):
    product = ProductFactory(sku="P1")
    mine = CustomerFactory(name="Alpha", external_ref="A1", manager=mgr_a)
    theirs = CustomerFactory(name="Beta", external_ref="B1", manager=mgr_b)
    SettlementLineFactory(customer=mine, product=product, date=date(2024, 1, 10), amount=10, document="INV1")
    SettlementLineFactory(customer=mine, product=product, date=date(2024, 3, 10), amount=-4, document="CR1")
    SettlementLineFactory(customer=theirs, product=product, date=date(2024, 2, 10), amount=99, document="INV9")


def test_a_manager_sees_only_their_customers_lines(ledger, mgr_a, client_for):
    response = client_for(mgr_a).get(reverse("sales_pipeline:settlement_list"))
    assert response.status_code == 200
    assert sorted(row.record.document for row in response.context["table"].rows) == ["CR1", "INV1"]


@pytest.mark.parametrize(
    "params,documents",
    [
        ({"date_from": "2024-02-01"}, ["CR1"]),
        ({"date_to": "2024-02-01"}, ["INV1"]),
        ({"document": "cr1"}, ["CR1"]),
        ({"customer": "alp"}, ["CR1", "INV1"]),
        ({"customer": "B1"}, []),
        ({"product": "P1"}, ["CR1", "INV1"]),
    ],
)
def test_the_ledger_filters(ledger, mgr_a, client_for, params, documents):
    response = client_for(mgr_a).get(reverse("sales_pipeline:settlement_list"), params)
    assert sorted(row.record.document for row in response.context["table"].rows) == documents


def test_the_ledger_exports_what_the_user_sees(ledger, mgr_a, client_for):
    response = client_for(mgr_a).get(reverse("sales_pipeline:settlement_list"), {"_export": "csv", "sort": "date"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Date", "Customer", "Product"]
    assert [row[-1] for row in rows[1:]] == ["INV1", "CR1"]
    assert response["Content-Disposition"] == 'attachment; filename="settlements.csv"'


def test_the_ledger_offers_the_import_to_directors_only(ledger, mgr_a, dir_1, client_for):
    assert IMPORT_URL not in client_for(mgr_a).get(reverse("sales_pipeline:settlement_list")).content.decode()
    assert IMPORT_URL in client_for(dir_1).get(reverse("sales_pipeline:settlement_list")).content.decode()


#
# Admin
#


def test_the_admin_lists_lines_and_runs_read_only(ledger, admin_user, client_for):
    client = client_for(admin_user)
    lines = client.get(reverse("admin:sales_pipeline_settlementline_changelist"), {"q": "INV9"})
    assert lines.status_code == 200 and lines.context["cl"].result_count == 1
    run = SettlementImport.objects.create(file_name="x.csv", created_by=admin_user)
    assert client.get(reverse("admin:sales_pipeline_settlementimport_changelist")).status_code == 200
    assert client.get(reverse("admin:sales_pipeline_settlementimport_change", args=[run.pk])).status_code == 200
    assert client.get(reverse("admin:sales_pipeline_settlementline_add")).status_code == 403


#
# A run whose process died
#

def importing_elsewhere(run):
    """Another process holds `run`'s lock, as the worker importing it does."""
    return held_elsewhere(lambda: locks.held_while_running(services.RUN_LOCK, run.pk))


def _running_run(user) -> SettlementImport:
    return SettlementImport.objects.create(file_name="big.csv", created_by=user, status=SettlementImport.Status.RUNNING)


def test_on_postgresql_a_run_whose_worker_died_is_shown_failed(client_for, dir_1):
    if connection.vendor != "postgresql":
        pytest.skip("a run's liveness is its PostgreSQL advisory lock")
    # given a run left 'running' by a killed worker: nobody holds its lock
    run = _running_run(dir_1)
    # when its page or the list of imports is opened
    client_for(dir_1).get(reverse("sales_pipeline:settlement_import_list"))
    # then it is failed, saying what happened
    run.refresh_from_db()
    assert run.status == SettlementImport.Status.FAILED and run.finished_at is not None
    assert "worker ended" in run.errors[0]["message"]
    assert "worker ended" in client_for(dir_1).get(detail_url(run)).content.decode()


def test_on_postgresql_a_run_still_going_elsewhere_stays_running(client_for, dir_1):
    if connection.vendor != "postgresql":
        pytest.skip("a run's liveness is its PostgreSQL advisory lock")
    run = _running_run(dir_1)
    with importing_elsewhere(run):
        assert services.abandoned_imports_close() == 0
        client_for(dir_1).get(progress_url(run))
        run.refresh_from_db()
        assert run.status == SettlementImport.Status.RUNNING
    assert services.abandoned_imports_close() == 1  # and once that process is gone, it is closed


def test_a_second_delivery_of_a_finished_run_changes_nothing(cust_1, dir_1, tmp_path):
    path = tmp_path / "lines.csv"
    path.write_bytes(upload().read())
    run = SettlementImport.objects.create(file_name="lines.csv", created_by=dir_1)
    first = services.settlement_import_run(run=run, path=path, user=dir_1)
    assert (first.status, first.lines_created) == (SettlementImport.Status.DONE, 2)
    again = services.settlement_import_run(run=SettlementImport.objects.get(pk=run.pk), path=path, user=dir_1)
    assert (again.status, again.lines_created, again.lines_skipped) == (SettlementImport.Status.DONE, 2, 0)
