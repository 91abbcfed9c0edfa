"""Realistic traffic for the demo organization's accounts, written into a `Scenario` the doubles serve.

`ScenarioGenerator(scenario, accounts, seed=...)` registers each account with the identifiers its double
needs (X numeric id, Facebook Page id, Instagram business id, Bluesky DID + app password, Mastodon id +
token), restores what earlier runs produced (`history`, so a restarted demo keeps serving the posts its
database already holds) and gives every account without history a backlog over the last few days:
own posts (community updates, road closures, missing person appeals, safety tips), inbound greetings,
thanks, questions, complaints and urgent reports, in English and French, many answered by the account,
some not. `tick()` then adds a few new items each call. Now and then an item has a shape the real
platforms send and a poll must read right: a retweet or repost (never stored), a quote of the account's
post, a long X post (full text only in `note_tweet`), a private Mastodon mention (`direct`), a Facebook
photo post without text, and rarely an item the double sends unreadable (shown on the health page).
Everything comes from `random.Random(seed)`, so the same accounts, seed and clock give the same items.

Some public names and texts are hostile (`<script>`, `<b>`): they are data, escaped when rendered.

Modules, by job: `traffic` (`ScenarioGenerator`, `DemoAccount`, `PastItem`: when and how items are added),
`texts` (what is written) and `people` (who writes, with which platform ids).
"""
