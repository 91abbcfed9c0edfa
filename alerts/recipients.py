"""Who is told: people holding a role on a unit or one of its ancestors (a grant covers its subtree).

Computed from the role grants over the unit tree (materialized paths), like every scope in Chorus: a
grant on North Division covers an account of 11 Station below it, never one of South Division beside it.
Only active users with an email address, on active units, are recipients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts_registry.models import RoleGrant

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable


def grantees_covering(paths: Iterable[str], roles: Collection[str]) -> dict[str, set[int]]:
    """Unit path → ids of the users holding one of `roles` on that unit or an ancestor (one query)."""
    paths = set(paths)
    if not paths:
        return {}
    grants = list(
        RoleGrant.objects.filter(role__in=list(roles), user__is_active=True, unit__is_active=True)
        .exclude(user__email="")
        .values_list("unit__path", "user_id")
    )
    return {path: {user_id for prefix, user_id in grants if path.startswith(prefix)} for path in paths}
