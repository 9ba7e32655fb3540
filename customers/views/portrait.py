from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_project.views import ScopedListView

from .. import lists, portrait
from ..managed_base import ManagedBaseFilterSet, ManagedBaseTable, target_products
from ..models import Customer, CustomerProduct, Product, Segment
from ..segment_rules import segment_counts_text, segments_assign
from ..selectors import profiles as selectors


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def segment_list(request):
    segments = Segment.objects.prefetch_related("rules", "target_products").order_by("priority", "name")
    counts = portrait.segment_counts()
    rows = [(segment, counts.get(segment.pk, 0)) for segment in segments]
    return render(request, "customers/segment_list.html", {"rows": rows, "non_target": counts.get(None, 0)})


@login_required
@require_POST
@permission_required("customers.change_segment", raise_exception=True)
def segments_reassign(request):
    counts = segments_assign()
    messages.success(request, _("Segments reassigned: %(counts)s.") % {"counts": segment_counts_text(counts)})
    return redirect("customers:segment_list")


@login_required
@permission_required("customers.view_portraitentry", raise_exception=True)
def portrait_matrix(request):
    """Segments as rows, the active products of one product line as columns (?line=<id>,
    ?line=none for products without a line, ?line=all for a catalogue of at most
    PORTRAIT_ALL_LIMIT products; the first entry by default); directors tick the target
    products. One line at a time: the whole catalogue (2,000 products, 12,000 checkboxes)
    made a 2 MB page of 400 ms. Saving replaces the marks of the products shown only."""
    segments = list(Segment.objects.order_by("priority", "name"))
    lines = portrait.portrait_lines()
    chosen = request.POST.get("line") if request.method == "POST" else request.GET.get("line")
    line = next((entry for entry in lines if entry["key"] == chosen), lines[0] if lines else None)
    products = portrait.portrait_products(line["key"]) if line else []
    can_edit = request.user.has_perms(["customers.add_portraitentry", "customers.delete_portraitentry"])
    if request.method == "POST":
        if not can_edit:
            return render(request, "403.html", status=403)
        valid = {(s.pk, p.pk) for s in segments for p in products}
        marks = set()
        for value in request.POST.getlist("mark"):
            segment_id, _dash, product_id = value.partition("-")
            if segment_id.isdigit() and product_id.isdigit() and (int(segment_id), int(product_id)) in valid:
                marks.add((int(segment_id), int(product_id)))
        added, removed = portrait.portrait_save(marks=marks, products={p.pk for p in products})
        messages.success(
            request,
            _("Portrait saved: %(added)s marks added, %(removed)s removed.") % {"added": added, "removed": removed},
        )
        return redirect(f"{reverse('customers:portrait')}?line={line['key']}" if line else "customers:portrait")
    marks = set(
        portrait.PortraitEntry.objects.filter(product__in=[p.pk for p in products]).values_list(
            "segment_id", "product_id"
        )
    )
    targeted = {product_id for _segment_id, product_id in marks}
    return render(
        request,
        "customers/portrait.html",
        {
            "segments": segments,
            "products": products,
            "marks": marks,
            "lines": lines,
            "line": line,
            "untargeted": [p for p in products if p.pk not in targeted],
            "can_edit": can_edit,
        },
    )


@login_required
@require_POST
@permission_required("customers.change_customer", raise_exception=True)
def product_status_update(request, pk):
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    product_id, status = request.POST.get("product", ""), request.POST.get("status", "")
    product = Product.objects.filter(pk=product_id).first() if product_id.isdigit() else None
    if product is None or status not in CustomerProduct.Status.values:
        messages.error(request, _("Choose a product and a status."))
    else:
        portrait.product_status_set(
            customer=customer, product=product, status=status, reason=request.POST.get("reason", "").strip()[:300]
        )
    if request.htmx:
        product_row = selectors.customer_product_row(customer)
        return render(
            request,
            "customers/_card_products.html",
            {
                "customer": customer,
                "product_row": product_row,
                "product_statuses": CustomerProduct.Status.choices,
                "offer_next": portrait.offer_next_from_row(product_row),
            },
        )
    return redirect(customer)


class ManagedBaseView(ScopedListView):
    model = Customer
    permission_required = "customers.view_customer"
    filterset_class = ManagedBaseFilterSet
    table_class = ManagedBaseTable
    template_name = "customers/managed_base.html"
    export_name = "managed-base"

    def get_queryset(self):
        queryset = lists.annotate(super().get_queryset().select_related("manager", "segment"), "managed_base")
        return portrait.with_maturity(queryset)

    def get_filterset_class(self):
        return lists.filterset_class(ManagedBaseFilterSet, "managed_base")

    def get_table_kwargs(self):
        line = self.request.GET.get("line")
        filterset = getattr(self, "filterset", None)
        valid = filterset is not None and filterset.is_valid()
        return {
            "products": target_products(int(line) if line and line.isdigit() else None),
            "one_segment": filterset.form.cleaned_data.get("segment") if valid else None,
        }


urlpatterns = [
    path("segments/", segment_list, name="segment_list"),
    path("segments/reassign/", segments_reassign, name="segments_reassign"),
    path("portrait/", portrait_matrix, name="portrait"),
    path("managed-base/", ManagedBaseView.as_view(), name="managed_base"),
    path("<int:pk>/products/", product_status_update, name="product_status_update"),
]
