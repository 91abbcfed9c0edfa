"""X (API v2) connector: an account's own posts and its mentions, read through tweepy's `Client`.

Pitfalls of tweepy 4.17 this package guards against (docs/platforms.md §1):
- The host `https://api.twitter.com` is hard-coded: `_XAdapter`, mounted on `client.session`, rewrites it to
  `CHORUS_X_API_BASE` and applies `CHORUS_HTTP_TIMEOUT` (tweepy sends every request without a timeout).
- The default return type drops response headers: a session response hook reads the rate-limit headers.
- `wait_on_rate_limit=True` spins without sleeping when a 429 lacks `x-rate-limit-reset`: it stays off and a
  429 becomes `RateLimited` (reset from the header, or a minute ahead).
- tweepy's `Tweet` model warns on a missing `edit_history_tweet_ids` and knows only the tweet-named fields:
  the connector asks for raw dicts and reads both the tweet and the post names (spec drift of 2026-08).
- tweepy logs request headers (the bearer token) and requests-oauthlib logs token bodies at DEBUG: those
  records are dropped. `OAuth2UserHandler` never refreshes by itself: a rejected user token is refreshed once.

Modules, by job: `client` (tweepy aimed at the configured host, rate-limit headers, errors, the token
refresh), `tweets` (a payload read into a normalized message, `tweet_roles`, the Activity API's posts),
`connector` (`XConnector`: the timelines) and `sweep` (the combined recent-search sweeps).
"""
