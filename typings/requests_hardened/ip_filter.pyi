import ipaddress

import requests

EXTRA_BLOCKED_NET_RANGES: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

class InvalidIPAddress(requests.RequestException): ...
