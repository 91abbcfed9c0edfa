from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_registry.models import Role
from accounts_registry.services.roles import role_revoke
from accounts_registry.services.units import unit_by_path


class Command(BaseCommand):
    help = "Take back ROLE on the subtree at UNIT_PATH from USERNAME. Effective on the user's next request."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("unit_path")

    def handle(self, *args: Any, username: str, role: str, unit_path: str, **options: Any) -> None:
        unit = unit_by_path(unit_path)
        if unit is None:
            raise CommandError(f"No unit at path {unit_path!r}.")
        if not role_revoke(username=username, role=Role(role), unit=unit, actor=None):
            raise CommandError(f"{username} holds no {role} grant on {unit_path}.")
        self.stdout.write(f"Revoked {role} on {unit_path} from {username}.")
