from .views import customers, portrait

app_name = "customers"
urlpatterns = [*customers.urlpatterns, *portrait.urlpatterns]
