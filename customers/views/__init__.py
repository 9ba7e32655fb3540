"""Customer pages, one module per screen family; each module declares its urlpatterns."""
