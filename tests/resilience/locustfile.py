"""Locust users for the load case: comms managers and supervisors browsing the inbox, opening items and
writing notes, with sessions made by the test (a full sign-in, second factor included). Read by
`python -m locust -f tests/resilience/locustfile.py`; CHORUS_LOAD_PLAN names a JSON file with the
sessions and item ids, and every note that the server confirmed is written to CHORUS_LOAD_DONE."""

import json
import os
import random
import uuid

from locust import HttpUser, between, events, task

PLAN = json.loads(open(os.environ["CHORUS_LOAD_PLAN"]).read())  # noqa: PTH123, SIM115 — read once, at import
DONE: list[str] = []


class InboxUser(HttpUser):
    wait_time = between(0.5, 2)

    def on_start(self):
        session = PLAN["sessions"][random.randrange(len(PLAN["sessions"]))]
        self.client.cookies.set("sessionid", session)
        self.client.get("/inbox/", name="inbox")

    def _csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken") or "", "Referer": f"{self.host}/inbox/"}

    @task(5)
    def inbox(self):
        self.client.get("/inbox/", name="inbox")

    @task(2)
    def inbox_waiting(self):
        self.client.get("/inbox/?status=waiting", name="inbox (filtered)")

    @task(3)
    def item(self):
        self.client.get(f"/inbox/{random.choice(PLAN['items'])}/", name="item")

    @task(2)
    def note(self):
        text = f"load note {uuid.uuid4()}"
        item = random.choice(PLAN["items"])
        with self.client.post(
            f"/inbox/{item}/note/", data={"text": text}, headers=self._csrf(), name="note", catch_response=True
        ) as response:
            if response.status_code < 400:
                DONE.append(text)
                response.success()


@events.quitting.add_listener
def _write_done(environment, **_):
    with open(os.environ["CHORUS_LOAD_DONE"], "w") as out:  # noqa: PTH123
        json.dump(DONE, out)
