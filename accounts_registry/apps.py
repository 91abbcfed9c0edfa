from django.apps import AppConfig


class AccountsRegistryConfig(AppConfig):
    name = "accounts_registry"
    verbose_name = "Organization registry"

    def ready(self) -> None:
        from accounts_registry.signin import connect_audit_signals

        connect_audit_signals()
