"""Facebook Pages, and Instagram business accounts, through the Graph API via python-facebook-api 0.24.

One class serves both platforms: `FacebookConnector(platform="facebook")` polls a Page with its Page
token, `FacebookConnector(platform="instagram")` polls the Instagram business account linked to it.

Streams and cursors (all values are strings in `PollState.cursors`):
- "posts": unix time of the newest own post (Instagram: media) seen. The next poll asks for `since` one
  second later: `since` is taken to include its bound (the docs do not say; the double includes it), so
  asking for the cursor itself would re-read the newest post on every poll. The price: a post published
  in the very second of the newest one seen but visible only after that poll is missed.
- "comments": a JSON object {post id: [post created unix, newest comment created unix seen or 0]} of the
  posts created since `backfill_since`, whose comments may still grow. Each poll lists the comments of
  every new post (all of them) and of every tracked post (`since` one second after its own newest
  comment). A per-post cursor, unlike one cursor for the whole Page, cannot skip a comment written on
  an already-read post while the poll reads the next one. The object is bounded by the backfill window
  and by MAX_TRACKED_POSTS.

Read cost per poll: one request per page of new posts (up to PAGE_SIZE posts each) plus one request per
tracked post, most of them answering an empty list: a Page posting 5 times a day with a 7-day window
costs about 36 calls per poll. Meta's `feed` webhook is the scalable way to learn about new comments.
Instagram comments have no `since`: their whole first level is re-listed and filtered by time here, and
replies come nested in it (their first page only: enough for a dashboard, not an archive).

pyfacebook pitfalls guarded in `client` and `connector` (docs/platforms.md §2.5): explicit `fields` on every
call (default comment fields omit `from` and `parent`), `count=None` to follow every page (the default stops
after 10 items),
`sleep_on_rate_limit=False` (the library would sleep inside the poll), a `base_url` that must end in
"/", rate-limit headers with keys the library does not know (it raises TypeError from inside every
request: `_TolerantUsage` keeps the known keys), and a response without Content-Type (KeyError).

Modules, by job: `client` (pyfacebook, tolerant of odd headers, and the paging of an edge), `errors` (Graph
errors and usage headers read as the connector's errors and rate limit), `cursors` (the comments cursor),
`parse` (payloads into normalized messages, the `feed` webhook's comment included) and `connector`
(`FacebookConnector`: what a poll reads, in which order).
"""
