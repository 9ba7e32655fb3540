from .views import agenda, customers, imports, portrait, profile

app_name = "customers"
urlpatterns = [*customers.urlpatterns, *portrait.urlpatterns]
urlpatterns += [*imports.urlpatterns, *profile.urlpatterns]
urlpatterns += [*agenda.urlpatterns]
