from django.urls import path

from . import views

app_name = "complaints"

urlpatterns = [
    path("", views.ComplaintListView.as_view(), name="complaint_list"),
    path("new/", views.complaint_create, name="complaint_create"),
    path("statistics/", views.statistics, name="statistics"),
    path("<int:pk>/", views.complaint_detail, name="complaint_detail"),
    path("<int:pk>/advance/", views.complaint_advance, name="complaint_advance"),
    path("<int:pk>/reopen/", views.complaint_reopen, name="complaint_reopen"),
    path("<int:pk>/attach/", views.complaint_attach, name="complaint_attach"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("surveys/", views.SurveyListView.as_view(), name="survey_list"),
    path("surveys/new/", views.survey_start, name="survey_start"),
    path("surveys/<int:pk>/fill/", views.survey_fill, name="survey_fill"),
]
