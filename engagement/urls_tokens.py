from django.urls import URLPattern, URLResolver, path

from engagement.views import tokens

app_name = "tokens"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", tokens.tokens, name="list"),
    path("<int:pk>/revoke/", tokens.token_revoke, name="revoke"),
]
