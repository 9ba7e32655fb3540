from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("kpis/", views.kpi_managers, name="kpi_managers"),
    path("kpis/customers/", views.KpiCustomerListView.as_view(), name="kpi_customers"),
    path("kpis/behind/", views.kpi_drill, name="kpi_drill"),
    path("kpis/refresh/", views.refresh, name="refresh"),
    path("plans/", views.plans, name="plans"),
    path("health/", views.process_health, name="health"),
    path("health/records/", views.health_records, name="health_records"),
]
