from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from crm_project.health import health
from crm_project.password_reset import PasswordResetView
from customers.views import customers as customer_views

urlpatterns = [
    path("", customer_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("health/", health, name="health"),
    path("search/", customer_views.global_search, name="search"),
    path("customers/", include("customers.urls")),
    path("segments/", include("segmentation.urls")),
    # sales_pipeline serves deals/ and settlements/
    path("", include("sales_pipeline.urls")),
    path("complaints/", include("complaints.urls")),
    # the customers' login-free survey links: short, as they travel in e-mails
    path("s/", include("complaints.public_urls")),
    path("reports/", include("reporting.urls")),
    path("loyalty/", include("loyalty.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = _("CRM administration")
admin.site.site_title = _("CRM admin")
