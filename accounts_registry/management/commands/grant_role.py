from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_registry.models import Role
from accounts_registry.services.roles import role_grant
from accounts_registry.services.units import unit_by_path


class Command(BaseCommand):
    help = (
        "Grant ROLE on the subtree at UNIT_PATH to USERNAME, creating the user (with no usable password) "
        "if needed. Example: grant_role jdoe supervisor 'Metro Police Service/North Division'"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("unit_path", help="Unit names from the root, separated by '/'.")

    def handle(self, *args: Any, username: str, role: str, unit_path: str, **options: Any) -> None:
        unit = unit_by_path(unit_path)
        if unit is None:
            raise CommandError(f"No unit at path {unit_path!r}.")
        _, created = role_grant(username=username, role=Role(role), unit=unit, actor=None)
        verb = "Granted" if created else "Already granted:"
        self.stdout.write(f"{verb} {role} on {unit_path} to {username}.")
