from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from engagement.services.tokens import api_token_create

DEFAULT_NAME = "created with manage.py"


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print its key (shown once; only a hash is stored). "
        "The token sees what the user sees. Example: create_api_token jdoe --name 'weekly report'"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default=DEFAULT_NAME, help=f"What the token is for (default: {DEFAULT_NAME!r}).")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive: its tokens would not work.")
        try:
            _, key = api_token_create(user=user, name=name)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        # The key alone on stdout, so `KEY=$(manage.py create_api_token jdoe)` works; the notice on stderr.
        self.stdout.write(key)
        self.stderr.write(f"API token {name!r} for {username}: copy the key now, it is not shown again.")
