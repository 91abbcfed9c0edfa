from typing import Any

from django.http import HttpRequest

from accounts_registry.selectors import user_scope


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the navigation may show: only the sections the user's role allows."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": None}
    scope = user_scope(user)
    return {
        "nav": {
            "can_read_units": scope.can_read_units,
            "can_administer": scope.can_administer,
            "member_id": scope.member_id,
            "is_staff": user.is_staff,
        }
    }
