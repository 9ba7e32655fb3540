from .views import customers

app_name = "customers"
urlpatterns = [*customers.urlpatterns]
