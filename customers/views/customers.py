from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import redirect, render
from django.urls import path
from django.views.generic import CreateView, DetailView, UpdateView

from crm_project.views import ScopedListView
from segmentation.models import CustomerSnapshot

from .. import selectors
from ..access import MANAGER, user_role
from ..filters import CustomerFilterSet, customer_search
from ..forms import CustomerForm
from ..models import Customer, PlannedContact
from ..selectors import history_changes
from ..tables import CustomerTable

SEARCH_LIMIT = 10


@login_required
def home(request):
    return redirect("customers:customer_list")


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

    def get_queryset(self):
        current = CustomerSnapshot.objects.latest_date()
        return super().get_queryset().select_related("manager").with_classes(current)

    filterset_class = CustomerFilterSet
    table_class = CustomerTable
    template_name = "customers/customer_list.html"

    export_name = "customers"


class CustomerScopeMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Single customers come from the user's scope, so anything else is a 404."""

    model = Customer

    def get_queryset(self):
        return Customer.objects.visible_to(self.request.user).select_related("manager", "segment", "referred_by")


class CustomerDetailView(CustomerScopeMixin, DetailView):
    permission_required = "customers.view_customer"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.object
        context.update(
            history=history_changes(customer.history.all()),
            snapshot=customer.snapshots.filter(as_of=CustomerSnapshot.objects.latest_date()).first(),
            contacts=customer.contacts.all(),
            competitor_links=customer.competitor_links.select_related("competitor", "product"),
            interactions=customer.interactions.select_related("manager", "contact")[:30],
            planned_contacts=customer.planned_contacts.filter(status=PlannedContact.Status.PLANNED).select_related(
                "manager", "product"
            ),
            product_row=selectors.customer_product_row(customer),
        )
        return context


class CustomerFormMixin(CustomerScopeMixin):
    form_class = CustomerForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        messages.success(self.request, f"Saved {form.instance.name}.")
        return super().form_valid(form)


class CustomerCreateView(CustomerFormMixin, CreateView):
    permission_required = "customers.add_customer"

    def form_valid(self, form):
        if user_role(self.request.user) == MANAGER:
            form.instance.manager = self.request.user
        return super().form_valid(form)


class CustomerUpdateView(CustomerFormMixin, UpdateView):
    permission_required = "customers.change_customer"


urlpatterns = [
    path("", CustomerListView.as_view(), name="customer_list"),
    path("new/", CustomerCreateView.as_view(), name="customer_create"),
    path("<int:pk>/", CustomerDetailView.as_view(), name="customer_detail"),
    path("<int:pk>/edit/", CustomerUpdateView.as_view(), name="customer_update"),
]
