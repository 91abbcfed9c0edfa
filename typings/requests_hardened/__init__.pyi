# The part of requests-hardened 1.3.0 Chorus uses (the package ships no type information).
import dataclasses

import requests

@dataclasses.dataclass
class Config:
    ip_filter_enable: bool
    ip_filter_allow_loopback_ips: bool
    never_redirect: bool
    default_timeout: tuple[float, float] | None
    user_agent_override: str | None = None
    ip_filter_tls_sni_support: bool = True

class HTTPSession(requests.Session):
    def __init__(self, config: Config) -> None: ...
