"""The API tokens page: a user lists, creates and revokes their own tokens.

A new key is shown exactly once, in the response to the POST that created it: it is never stored (only
its hash is), never put in the session or a URL, and the page is sent with `Cache-Control: no-store`.
That is why a successful create renders instead of redirecting (a reload offers to re-submit and would
make a second token, which is harmless and visible in the list).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts_registry.signin import reauthentication_prompt
from common.htmx import acting_user, render_page, wants_fragment
from engagement.api.selectors import api_tokens_for_user, get_api_token_for_user
from engagement.models import ApiToken
from engagement.services.tokens import api_token_create, api_token_revoke

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

TEMPLATE = "engagement/tokens.html"


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What the token is for, e.g. 'weekly report script'.",
    )


def _render(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    user = acting_user(request)
    context = {"tokens": api_tokens_for_user(user), "api_root": reverse("api:triage-items"), **context}
    response = render_page(request, TEMPLATE, context, partial="tokens")
    add_never_cache_headers(response)  # a new key must not stay in any cache
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, {"form": ApiTokenForm()})
    # A new token is a new credential: the password (and second factor) again first.
    if (prompt := reauthentication_prompt(request)) is not None:
        return prompt
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        user = acting_user(request)
        try:
            token, key = api_token_create(user=user, name=form.cleaned_data["name"], actor=user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _render(request, {"form": ApiTokenForm(), "new_token": token, "new_key": key})
    # Invalid: re-render with the errors, 200 so htmx swaps it in.
    return _render(request, {"form": form})


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    token = get_api_token_for_user(user=user, pk=pk)
    api_token_revoke(token=token, actor=user)
    notice = f"Token “{token.name}” revoked: it no longer works."
    if wants_fragment(request):
        return _render(request, {"form": ApiTokenForm(), "notice": notice})
    messages.success(request, notice)
    return redirect("tokens:list")
