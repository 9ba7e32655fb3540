"""The login-free survey link, kept apart from the staff pages (its own namespace)."""

from django.urls import path

from . import views

app_name = "survey"

urlpatterns = [path("<str:token>/", views.survey_public, name="public")]
