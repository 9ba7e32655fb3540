"""Seed data a fresh install needs for the pipeline: refusal reasons per stage and the
four document templates. Both stay admin-editable; existing rows are left alone."""

from django.db import migrations

REASONS = {
    1: [  # Presentation
        "No need at the moment",
        "Happy with the current supplier",
        "No budget this year",
        "Not the decision maker",
        "Bad timing: try again later",
    ],
    2: [  # Commercial offer
        "Price too high",
        "A competitor's offer was chosen",
        "The product does not fit the need",
        "Delivery time too long",
        "No answer to the offer",
    ],
    3: [  # Agreement
        "Contract terms not accepted",
        "Payment terms not accepted",
        "Legal or compliance objection",
        "Decision postponed indefinitely",
    ],
    4: [  # Payment
        "Invoice not paid",
        "Budget withdrawn",
        "Financing refused",
    ],
    5: [  # Delivery / event
        "No delivery date could be agreed",
        "Customer cancelled before delivery",
        "Preparation on site not possible",
    ],
    6: [  # Closing + follow-up
        "Act not signed: dispute over the result",
        "Customer dissatisfied with the delivery",
        "Final payment withheld",
    ],
}

LINES_TABLE = """<table class="doc-table">
  <thead><tr><th>Product</th><th>SKU</th><th class="num">Qty</th><th class="num">Price</th><th class="num">Discount %</th><th class="num">Amount</th></tr></thead>
  <tbody>
  {% for line in lines %}<tr><td>{{ line.product }}</td><td>{{ line.sku }}</td><td class="num">{{ line.quantity }}</td><td class="num">{{ line.price|floatformat:2 }}</td><td class="num">{{ line.discount|floatformat:"-2" }}</td><td class="num">{{ line.net|floatformat:2 }}</td></tr>
  {% endfor %}</tbody>
  <tfoot><tr><th colspan="5">Total</th><th class="num">{{ deal.amount|floatformat:2 }}</th></tr></tfoot>
</table>"""

PARTIES = """<p class="doc-parties"><strong>Customer:</strong> {{ customer.name }}{% if customer.tax_id %}, tax id {{ customer.tax_id }}{% endif %}{% if customer.city %}, {{ customer.city }}{% endif %}<br>
<strong>Your contact with us:</strong> {{ manager.name }}{% if manager.email %} ({{ manager.email }}){% endif %}</p>"""

TEMPLATES = [
    (
        "offer",
        "Commercial offer No. {{ deal.number }}{% if deal.offer_revisions %}, revision {{ deal.offer_revisions }}{% endif %}",
        f"""<h1>Commercial offer No. {{{{ deal.number }}}}</h1>
<p class="doc-meta">{{{{ today|date:"j F Y" }}}} · {{{{ deal.title }}}}</p>
{PARTIES}
<p>We are pleased to offer:</p>
{LINES_TABLE}
<p>This offer is valid {{% if deal.offer_expires %}}until {{{{ deal.offer_expires|date:"j F Y" }}}}{{% else %}}for 30 days{{% endif %}}.</p>
<div class="doc-signatures"><p>{{{{ manager.name }}}}</p></div>""",
    ),
    (
        "contract",
        "Contract No. {{ deal.number }}",
        f"""<h1>Contract No. {{{{ deal.number }}}}</h1>
<p class="doc-meta">{{{{ deal.contract_signed|default:today|date:"j F Y" }}}}</p>
{PARTIES}
<h2>1. Subject</h2>
<p>The supplier delivers and the customer accepts and pays for:</p>
{LINES_TABLE}
<h2>2. Payment</h2>
<p>The customer pays against the supplier's invoice, in one or more instalments, the total of {{{{ deal.amount|floatformat:2 }}}}.</p>
<h2>3. Delivery</h2>
<p>Delivery {{% if deal.event_date %}}on {{{{ deal.event_date|date:"j F Y" }}}}{{% else %}}on a date agreed in writing{{% endif %}}.</p>
<div class="doc-signatures"><p>For the supplier: {{{{ manager.name }}}}</p><p>For the customer: {{{{ deal.signatories|default:"________________" }}}}</p></div>""",
    ),
    (
        "invoice",
        "Invoice {{ deal.invoice_number|default:deal.number }}",
        f"""<h1>Invoice {{{{ deal.invoice_number|default:deal.number }}}}</h1>
<p class="doc-meta">Date {{{{ deal.invoice_date|default:today|date:"j F Y" }}}}{{% if deal.invoice_expires %}} · payable by {{{{ deal.invoice_expires|date:"j F Y" }}}}{{% endif %}}</p>
{PARTIES}
{LINES_TABLE}
<p class="doc-total">Paid so far: {{{{ money.paid|floatformat:2 }}}} · <strong>Due: {{{{ money.due|floatformat:2 }}}}</strong></p>""",
    ),
    (
        "act",
        "Act of acceptance, deal No. {{ deal.number }}",
        f"""<h1>Act of acceptance</h1>
<p class="doc-meta">Deal No. {{{{ deal.number }}}} · {{{{ deal.act_signed|default:today|date:"j F Y" }}}}</p>
{PARTIES}
<p>The customer confirms that the following was delivered{{% if deal.event_date %}} on {{{{ deal.event_date|date:"j F Y" }}}}{{% endif %}} in full and on time, and has no claims:</p>
{LINES_TABLE}
<div class="doc-signatures"><p>Supplier: {{{{ manager.name }}}}</p><p>Customer: {{{{ deal.signatories|default:"________________" }}}}</p></div>""",
    ),
]


def seed(apps, schema_editor):
    RefusalReason = apps.get_model("sales_pipeline", "RefusalReason")
    DocumentTemplate = apps.get_model("sales_pipeline", "DocumentTemplate")
    for stage, texts in REASONS.items():
        for text in texts:
            RefusalReason.objects.get_or_create(stage=stage, text=text)
    for kind, title, body in TEMPLATES:
        DocumentTemplate.objects.get_or_create(kind=kind, defaults={"title": title, "body": body})


class Migration(migrations.Migration):
    dependencies = [
        ("sales_pipeline", "0002_pipeline"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
