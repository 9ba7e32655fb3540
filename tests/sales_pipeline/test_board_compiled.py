"""The deal board's queries compiled once per viewer's scope (crm_project.prepared; issue 15):
the columns' cards, the column heads' totals and the manager options give what the
querysets give, for every role and filter, and are not built again on the next request."""

from decimal import Decimal

import pytest
from django.db.models.sql.compiler import SQLCompiler
from django.template import engines
from django.urls import reverse

from crm_project import form_tags
from crm_project.form_tags import lean_widget
from sales_pipeline import deal_forms, deal_totals
from sales_pipeline.deal_forms import BoardFilterForm
from sales_pipeline.models import Deal, OpenDealTotal, Stage
from sales_pipeline.views import board
from tests.factories import CustomerFactory
from tests.sales_pipeline.test_pipeline import advance, open_deal

BOARD = "sales_pipeline:deal_board"


@pytest.fixture
def deals(mgr_a, mgr_b, mgr_c):
    """Open deals of three managers at two stages, one on a colleague's customer, a short
    push among them, and a lost one."""
    open_deal(mgr_a, title="A long")
    open_deal(mgr_a, title="A short", sale_type="short_push", lines=[(Decimal("70.00"), 1, 0)])
    advance(open_deal(mgr_b, title="B offered"), Stage.OFFER, mgr_b)
    open_deal(mgr_b, CustomerFactory(manager=mgr_a), title="B on A's customer")
    open_deal(mgr_c, title="C long")
    lost = open_deal(mgr_a, title="A lost")
    Deal.objects.filter(pk=lost.pk).update(status=Deal.Status.LOST)


def expected_columns(user, **filters) -> dict[int, list[str]]:
    """Each column's card titles as the board's querysets chose them."""
    deals = Deal.objects.visible_to(user).filter(status=Deal.Status.OPEN, **filters)
    return {
        stage.value: list(
            deals.filter(stage=stage).order_by("-pk").values_list("title", flat=True)[: board.BOARD_CARDS]
        )
        for stage in Stage
    }


@pytest.mark.parametrize("who", ["mgr_a", "mgr_b", "mgr_c", "dir_1", "admin_user"])
def test_the_compiled_board_shows_what_the_querysets_give_for_every_role(who, deals, client_for, request):
    user = request.getfixturevalue(who)
    client = client_for(user)
    for params, filters in [
        ({}, {}),
        ({"sale_type": "short_push"}, {"sale_type": "short_push"}),
        ({"manager": user.pk}, {"manager": user}),
    ]:
        for _ in range(2):  # compiled, then run again
            response = client.get(reverse(BOARD), params)
            assert response.status_code == 200
            if "manager" in params and response.context["form"].errors:
                continue  # not a manager whose deals this user may filter by
            columns = {column["stage"]: column for column in response.context["columns"]}
            assert {stage: [card.title for card in column["cards"]] for stage, column in columns.items()} == (
                expected_columns(user, **filters)
            ), (who, params)
            for column in columns.values():
                for card in column["cards"]:
                    assert card.paid == Decimal("0.00") and card.alerts == [] and card.days == 0


def test_each_viewer_gets_the_cards_of_their_own_scope(deals, mgr_a, mgr_b, client_for):
    # given the board compiled for one manager
    client_for(mgr_a).get(reverse(BOARD))
    # when another manager opens it with the same filters
    response = client_for(mgr_b).get(reverse(BOARD))
    # then they see their own deals only, never the first one's
    titles = {card.title for column in response.context["columns"] for card in column["cards"]}
    assert titles == {"B offered", "B on A's customer"}


def test_a_full_column_shows_the_newest_cards_as_many_as_set(mgr_a, client_for, monkeypatch):
    for number in range(4):
        open_deal(mgr_a, title=f"Deal {number}")
    client = client_for(mgr_a)
    client.get(reverse(BOARD))  # compiled with 20 cards a column
    monkeypatch.setattr(board, "BOARD_CARDS", 3)
    cards = client.get(reverse(BOARD)).context["columns"][0]["cards"]
    assert [card.title for card in cards] == ["Deal 3", "Deal 2", "Deal 1"]


def test_the_board_builds_no_deal_query_once_compiled(deals, dir_1, client_for, monkeypatch):
    """The second request runs the compiled statements: no deal, totals or manager-options
    queryset is compiled, and the options' queryset is not built (none is chosen)."""
    client = client_for(dir_1)
    client.get(reverse(BOARD))
    compiled = []
    as_sql = SQLCompiler.as_sql
    monkeypatch.setattr(
        SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(self.query.model) or as_sql(self, *a, **k)
    )
    built = []
    choices = deal_forms.manager_choices
    monkeypatch.setattr(deal_forms, "manager_choices", lambda user: built.append(user) or choices(user))
    response = client.get(reverse(BOARD))
    assert response.status_code == 200
    assert Deal not in compiled and OpenDealTotal not in compiled
    assert built == []
    # the options are still the director's team's managers
    html = response.content.decode()
    assert 'name="manager"' in html and ">mgr_a</option>" in html and ">mgr_c</option>" not in html


def test_the_compiled_totals_are_the_querysets(deals, mgr_a, mgr_b, dir_1, admin_user):
    for user in (mgr_a, mgr_b, dir_1, admin_user):
        for filters in (
            {},
            {"manager": mgr_b},
            {"sale_type": "short_push"},
            {"manager": mgr_a, "sale_type": "long_push"},
        ):
            deals = Deal.objects.visible_to(user).filter(status=Deal.Status.OPEN, **filters)
            expected = {}
            for deal in deals:
                count, total = expected.get(deal.stage, (0, Decimal("0")))
                expected[deal.stage] = (count + 1, total + deal.amount)
            assert deal_totals.open_totals(user, **filters) == expected, (user.username, filters)


@pytest.mark.parametrize(
    "params", [None, {"manager": "MGR"}, {"manager": "MGR", "sale_type": "short_push"}, {"manager": "x"}]
)
def test_the_board_filters_draw_the_markup_the_template_drew(params, mgr_a, dir_1):
    if params and params.get("manager") == "MGR":
        params = {**params, "manager": str(mgr_a.pk)}
    form = BoardFilterForm(params, user=dir_1)
    form.is_valid()
    template = engines["django"].from_string("{{ form.manager }}{{ form.sale_type }}")
    old = template.render({"form": form})
    assert lean_widget(form["manager"]) + lean_widget(form["sale_type"]) == old
    assert f'<option value="{mgr_a.pk}"' in old


def test_list_and_board_options_are_kept_once_not_once_a_request(deals, mgr_a, dir_1, client_for):
    """The options drawn once (crm_project.form_tags) are kept per filter, not per request:
    a closure made per request as the key added an entry (and kept the request) each time."""
    for user in (mgr_a, dir_1):
        client = client_for(user)
        client.get(reverse("sales_pipeline:deal_list"))
        client.get(reverse(BOARD))
    kept = len(form_tags._OPTIONS)
    for user in (mgr_a, dir_1):
        client = client_for(user)
        for _ in range(3):
            assert client.get(reverse("sales_pipeline:deal_list")).status_code == 200
            assert client.get(reverse(BOARD)).status_code == 200
    assert len(form_tags._OPTIONS) == kept
