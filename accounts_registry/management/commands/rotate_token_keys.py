from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts_registry.services.accounts import credentials_rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored platform credential under the newest key of CHORUS_FERNET_KEYS. "
        "Rotate by putting the new key first, running this, then removing the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = credentials_rotate_keys()
        self.stdout.write(f"Re-encrypted {result.rotated} account credential(s) under the newest key.")
        if result.unreadable:
            ids = ", ".join(str(pk) for pk in result.unreadable)
            raise CommandError(
                f"{len(result.unreadable)} account(s) had credentials no configured key decrypts ({ids}); "
                "they are marked needs_reconnect and must be entered again."
            )
