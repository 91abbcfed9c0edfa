from django.apps import AppConfig


class AccountsRegistryConfig(AppConfig):
    name = "accounts_registry"
    verbose_name = "Organization registry"

    def ready(self) -> None:
        import config.checks  # noqa: F401  (registers the project's deployment checks)
        from accounts_registry.signin import connect_audit_signals

        connect_audit_signals()
