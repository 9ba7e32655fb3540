from django.urls import path

from . import views

app_name = "loyalty"
urlpatterns = [
    path("", views.CardListView.as_view(), name="card_list"),
    path("cards/new/", views.card_issue, name="card_issue"),
    path("cards/<int:pk>/", views.card_detail, name="card_detail"),
    path("cards/<int:pk>/adjust/", views.card_adjust, name="card_adjust"),
    path("cards/<int:pk>/floor/", views.card_floor, name="card_floor"),
    path("cards/<int:pk>/status/", views.card_status, name="card_status"),
    path("tier-changes/<int:pk>/announced/", views.tier_change_announced, name="tier_change_announced"),
    path("pos/", views.point_of_sale, name="pos"),
    path("measures/", views.measures, name="measures"),
    path("campaigns/", views.CampaignListView.as_view(), name="campaign_list"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/start/", views.campaign_start, name="campaign_start"),
    path("campaigns/<int:pk>/stop/", views.campaign_stop, name="campaign_stop"),
    path("r/<str:token>/", views.campaign_track, name="campaign_track"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
