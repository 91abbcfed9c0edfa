"""What views need from htmx beyond django-htmx's `request.htmx` (HtmxMiddleware parses the headers).

- `wants_fragment`: an htmx request swaps a fragment — except a history restore (the back button after
  `hx-push-url` with an empty history cache), where htmx asks for the URL again and needs the whole page.
- `render_page`: the full page, or one Django 6 partial of it for a fragment request; `Vary: HX-Request`
  either way so a cache never serves one for the other.
- `acting_user`: the signed-in user of a view behind login_required, typed as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpResponse
    from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_fragment(request: HttpRequest) -> bool:
    htmx = cast("HtmxHttpRequest", request).htmx
    return bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str = "",
    status: int = 200,
) -> HttpResponse:
    """`template`, or `template#partial` when `partial` is given and the request wants a fragment."""
    name = f"{template}#{partial}" if partial and wants_fragment(request) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def acting_user(request: HttpRequest) -> User:
    user = request.user
    if not user.is_authenticated:  # login_required has sent anonymous users away already
        raise PermissionDenied
    return user
