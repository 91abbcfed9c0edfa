"""The security events page: sign-ins, failures, lockouts, second factor changes, exports, tokens and
refused access, for the admins of the units the people belong to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts_registry.models import SECURITY_VERB_CHOICES, SECURITY_VERBS
from accounts_registry.selectors import SECURITY_EVENTS_SHOWN, user_scope, visible_security_events

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@require_GET
@login_required
def security_events(request: HttpRequest) -> HttpResponse:
    if not user_scope(request.user).can_administer:
        raise PermissionDenied("Security events are shown to admins.")
    kind = request.GET.get("kind", "")
    if kind not in SECURITY_VERBS:
        kind = ""
    events = list(visible_security_events(request.user, verb=kind).select_related("unit")[:SECURITY_EVENTS_SHOWN])
    context = {"events": events, "kind": kind, "kinds": SECURITY_VERB_CHOICES, "shown": SECURITY_EVENTS_SHOWN}
    return render(request, "accounts_registry/security_events.html", context)
