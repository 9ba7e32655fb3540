from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.views.generic import CreateView, DetailView, UpdateView

from crm_project import hooks
from crm_project.probes import has_rows
from crm_project.views import ScopedListView

from .. import lists
from ..access import DIRECTOR, user_role
from ..duplicates import duplicates_for_user, find_duplicates
from ..filters import CustomerFilterSet, customer_search
from ..forms import CustomerForm, customer_formsets
from ..models import Contact, Customer, CustomerCompetitor, CustomerProduct
from ..portrait import offer_next_from_row
from ..selectors import card
from ..selectors import profiles as selectors
from ..selectors.profiles import history_changes
from ..services.profiles import customer_save
from ..tables import CustomerTable

SEARCH_LIMIT = 10


def card_annotations(request) -> dict:
    """Whether each of the card's sections has rows, read with the customer's row (an index
    probe each): an empty section then costs no query (issue 15; at 50,000 customers most
    cards have no complaint, no loyalty card, no competitor). The card's own sections, and
    the other apps' (crm_project.hooks.CARD_ANNOTATIONS). Not for the interactions and
    planned contacts, which nearly every customer has: each probe adds to the planning of
    the customer's query (10 probes: 0.5 -> 1.6 ms on PostgreSQL)."""
    annotations = {
        "card_has_statuses": has_rows(CustomerProduct, "customer"),
        "card_has_history": has_rows(Customer.history.model, "id", outer=Customer),
        "card_has_contacts": has_rows(Contact, "customer"),
        "card_has_competitors": has_rows(CustomerCompetitor, "customer"),
    }
    for hook in hooks.get_hooks(hooks.CARD_ANNOTATIONS):
        annotations.update(hook(request) or {})
    return annotations


def card_panels(request, customer) -> dict:
    """The panels other apps add to the card (crm_project.hooks.CARD_PANELS), by column."""
    panels = [panel for hook in hooks.get_hooks(hooks.CARD_PANELS) if (panel := hook(request, customer))]
    panels.sort(key=lambda panel: panel.order)
    return {
        "panels_main": [panel for panel in panels if panel.column == "main"],
        "panels_side": [panel for panel in panels if panel.column != "main"],
    }


@login_required
def home(request):
    """The agenda is the managers' home page: what to do today comes first. A director's
    is the dashboard (reporting), when that app is installed."""
    if user_role(request.user) == DIRECTOR:
        try:
            return redirect(reverse("reporting:dashboard"))
        except NoReverseMatch:
            pass
    return redirect("customers:agenda")


@login_required
def global_search(request):
    """The navbar search box: a dropdown of matches for htmx, a full page otherwise."""
    query = request.GET.get("q", "").strip()
    customers = Customer.objects.none()
    if query:
        visible = Customer.objects.visible_to(request.user).select_related("manager")
        customers = customer_search(visible, query)[:SEARCH_LIMIT]
    template = "search/_results.html" if request.htmx else "search/results.html"
    return render(request, template, {"query": query, "customers": customers})


class CustomerListView(ScopedListView):
    model = Customer
    permission_required = "customers.view_customer"

    table_class = CustomerTable
    template_name = "customers/customer_list.html"
    export_name = "customers"

    # Other apps add annotations, columns and filters through hooks.CUSTOMER_COLUMNS.
    def get_queryset(self):
        return lists.annotate(super().get_queryset().select_related("manager"), "customers")

    def get_filterset_class(self):
        return lists.filterset_class(CustomerFilterSet, "customers")

    def get_table_kwargs(self):
        return lists.table_kwargs(CustomerTable, "customers")


class CustomerScopeMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Single customers come from the user's scope, so anything else is a 404."""

    model = Customer

    def get_queryset(self):
        return Customer.objects.visible_to(self.request.user).select_related("manager", "segment", "referred_by")


class CustomerDetailView(CustomerScopeMixin, DetailView):
    permission_required = "customers.view_customer"

    def get_object(self, queryset=None):
        # the customer's query as get_queryset() writes it, compiled once per viewer's scope
        # and the section probes their permissions give (customers.selectors.card)
        return card.card_customer(self.request.user, self.kwargs["pk"], card_annotations(self.request))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.object
        product_row = selectors.customer_product_row(customer, has_statuses=customer.card_has_statuses)
        # a section without rows (card_annotations) is drawn from an empty list, without its query
        context.update(
            history=history_changes(
                customer.history.all(), visible={Customer: Customer.objects.visible_to(self.request.user)}
            )
            if customer.card_has_history
            else [],
            contacts=card.contacts(customer) if customer.card_has_contacts else [],
            competitor_links=card.competitor_links(customer) if customer.card_has_competitors else [],
            interactions=card.interactions(customer),
            planned_contacts=card.planned_contacts(customer),
            product_row=product_row,
            offer_next=offer_next_from_row(product_row),
            # the referrer's name when the reader may see it (None otherwise): one query, only for referred customers
            referred_by_name=customer.referred_by_id and card.referrer_name(self.request.user, customer.referred_by_id),
            product_statuses=CustomerProduct.Status.choices,
        )
        context.update(card_panels(self.request, customer))
        return context


class CustomerFormMixin(CustomerScopeMixin):
    """The profile form with its contact and competitor formsets, saved together by
    services.customer_save. When the name, tax id, email or phone match another
    customer, the form comes back with those customers until "save anyway" is ticked."""

    form_class = CustomerForm
    editing = False

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not hasattr(self, "formsets"):
            self.formsets = customer_formsets(data=None, instance=self.object or Customer())
        context["contact_formset"], context["competitor_formset"] = self.formsets
        return context

    def post(self, request, *args, **kwargs):
        self.object = self.get_object() if self.editing else None
        form = self.get_form()
        self.formsets = customer_formsets(data=request.POST, instance=self.object or Customer())
        # Everything is validated, so that every error shows at once.
        valid = [form.is_valid(), *(formset.is_valid() for formset in self.formsets if formset is not None)]
        if not all(valid):
            return self.form_invalid(form)
        if form.identity_changed() and not form.cleaned_data.get("save_anyway"):
            duplicates = find_duplicates(
                name=form.cleaned_data.get("name"),
                tax_id=form.cleaned_data.get("tax_id"),
                email=form.cleaned_data.get("email"),
                phone=form.cleaned_data.get("phone"),
                exclude_pk=self.object.pk if self.object else None,
            )
            if duplicates:
                shown = duplicates_for_user(duplicates, request.user)
                return self.render_to_response(self.get_context_data(form=form, duplicates=shown))
        contacts, competitors = self.formsets
        customer = customer_save(
            form=form, contact_formset=contacts, competitor_formset=competitors, actor=request.user
        )
        messages.success(request, _("Saved %(customer)s.") % {"customer": customer.name})
        return redirect(customer)


class CustomerCreateView(CustomerFormMixin, CreateView):
    permission_required = "customers.add_customer"


class CustomerUpdateView(CustomerFormMixin, UpdateView):
    permission_required = "customers.change_customer"
    editing = True


urlpatterns = [
    path("", CustomerListView.as_view(), name="customer_list"),
    path("new/", CustomerCreateView.as_view(), name="customer_create"),
    path("<int:pk>/", CustomerDetailView.as_view(), name="customer_detail"),
    path("<int:pk>/edit/", CustomerUpdateView.as_view(), name="customer_update"),
]
