"""The container health probe, answered before host validation and the HTTPS redirect.

Docker (and a load balancer) probe `http://127.0.0.1:8000/healthz` from inside the network: that request
has a loopback Host header and no TLS, so under the production profile ALLOWED_HOSTS would answer 400 and
SECURE_SSL_REDIRECT a redirect, and the container would never become healthy. This middleware, first in
MIDDLEWARE, serves exactly `GET /healthz` itself; every other path still goes through both checks. The
probe's answer names no host and carries nothing secret (database and broker up or down).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.views import healthz

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponseBase

HEALTH_PATH = "/healthz"


class HealthProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info == HEALTH_PATH and request.method == "GET":
            return healthz(request)
        return self.get_response(request)
