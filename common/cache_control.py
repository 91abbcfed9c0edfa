"""What a browser may keep of a signed-in session: nothing.

Every response to an authenticated request is `Cache-Control: no-store` (pages carry the public's messages and
officers' names; a shared workstation's back button or disk cache must not show them to the next person), and
the response to a logout tells the browser to drop what it kept with `Clear-Site-Data`. Logout is recognised
by its URL name, so the header follows whichever view serves it (Django's LogoutView or allauth's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.cache import add_never_cache_headers

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponseBase

LOGOUT_URL_NAMES = frozenset({"logout", "account_logout"})
# Not "cookies": that directive clears cookies of the whole registrable domain (other intranet services of
# the organization); the logout itself deletes the session cookie.
CLEAR_SITE_DATA = '"cache", "storage"'


class PrivateResponsesMiddleware:
    """Place after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # Read before the view runs: a logout view replaces request.user with an anonymous one.
        was_authenticated = _is_authenticated(request)
        response = self.get_response(request)
        match = request.resolver_match
        is_logout = match is not None and match.url_name in LOGOUT_URL_NAMES and request.method == "POST"
        if was_authenticated or _is_authenticated(request) or is_logout:
            add_never_cache_headers(response)
        if is_logout and response.status_code < 400:
            response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


def _is_authenticated(request: HttpRequest) -> bool:
    # The API's token authentication leaves `request.user` as None when a token is refused.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
