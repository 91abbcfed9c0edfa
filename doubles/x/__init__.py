"""A loopback double of the X API v2 endpoints Chorus reads, in X's wire format (docs/platforms.md §1).

Endpoints:
- `GET /2/users/:id/tweets` (the account's own posts, replies included unless `exclude=replies`)
- `GET /2/users/:id/mentions` (items addressed to the account: `Item.to` is it and someone else wrote them)
- `GET /2/users/by/username/:username`
- `GET /2/tweets/search/recent` (`@handle`, `from:handle`, `to:handle`, `is:reply`, keywords, `OR`, `-`, parentheses)
- `POST /2/oauth2/token` (`grant_type=refresh_token`; rotates both tokens and invalidates the old ones)

Every response carries `x-rate-limit-limit/remaining/reset`, counted per endpoint and token in 15-minute
windows (`limits` overrides the published numbers). A bearer token is valid when it is the app bearer given
to the double or a current per-account user token in `scenario.tokens`; anything else gets X's 401 problem.
Shapes of the real API it sends: retweets (`RT @user: ` plus the original cut short, `referenced_tweets`
`retweeted`), quotes (`quoted`, the quoted post's link appended to the text), long posts (`text` cut near
280 characters, the whole in `note_tweet` when asked for), and `errors[]` beside `data` with HTTP 200 (a
referenced post that is gone). `Item.broken == "bad_time"` sends a `created_at` no one can read.
`post_names=True` answers in the post-named shape of the 2026-08 spec (`referenced_posts`,
`edit_history_post_ids`, `includes.posts`) so the connector's tolerance can be tested.

Modules, by job: `server` (`XDouble`: routes, rate-limit windows, tokens, handlers), `posts` (the scenario as
X shows it, rendered as tweets and pages), `query` (the search query language) and `wire` (ids, times,
fields, error bodies and the query parameters of a read).
"""

from doubles.x.server import XDouble
from doubles.x.wire import iso, snowflake

__all__ = ["XDouble", "iso", "snowflake"]
