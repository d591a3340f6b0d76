"""The load mix (locust): what residents, staff, secretaries, members and the street do most.

Run by ops/prove.py, which sets LOAD_FIXTURES (the JSON of ops/fixtures.py prepare) and LOAD_LEDGER.
Every user sends one request a second (constant_throughput), so --users N is N requests/s.

Per 100 requests: 28 catalog searches (Chinese, pinyin, initials), 8 guide pages, 14 public
tracking (API and page), 12 submissions (Idempotency-Key; retried with the same key on a 5xx or a
broken connection, as the app does, until acknowledged), 12 staff queue, 10 member roster,
10 learning recommendations, 6 dashboard summaries. Each acknowledged submission is written to the
ledger (user, key, number) for the loss and duplicate check.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid

from locust import FastHttpUser, constant_throughput, task

with open(os.environ["LOAD_FIXTURES"], encoding="utf-8") as fixtures_file:
    FIXTURES = json.load(fixtures_file)
LEDGER = open(os.environ["LOAD_LEDGER"], "a", encoding="utf-8")  # noqa: SIM115 — closed at exit
LEDGER_LOCK = threading.Lock()
TERMS = ["社保", "shebao", "sb", "医保", "yibao", "公积金", "gjj", "户口", "hukou", "残疾", "低保", "dibao"]
TERMS += ["营业执照", "yyzz", "生育", "退休", "养老", "ylbx", "出生", "居住证", "jzz", "就业", "失业", "住房"]
TRACKABLE: list[tuple[str, str]] = []  # (number, check code) answered to this process
SUBMIT_BODY = json.dumps({"form": {"applicant_name": "压测居民"}, "consent": True})
RETRY_FOR_S = 90  # a client keeps retrying a submission this long (the faults last seconds)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Visitor(FastHttpUser):
    wait_time = constant_throughput(1)
    insecure = True  # our own self-signed loopback certificate
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.resident, self.token = random.choice(FIXTURES["tokens"]["residents"])
        # One client address per simulated person (nginx appends it; the rate limits see it).
        self.client_headers = {"X-Forwarded-For": f"10.{random.randrange(256)}.{random.randrange(256)}.7"}

    def get(self, path: str, name: str, token: str | None = None) -> None:
        headers = dict(self.client_headers, **(bearer(token) if token else {}))
        with self.client.get(path, name=name, headers=headers, catch_response=True) as response:
            if response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}")

    @task(28)
    def search(self) -> None:
        self.get(f"/api/v1/services?q={random.choice(TERMS)}", "search")

    @task(8)
    def guide(self) -> None:
        self.get(f"/services/{random.choice(FIXTURES['guides'])}/", "guide page")

    @task(10)
    def track(self) -> None:
        if not TRACKABLE:
            return self.search()
        number, code = random.choice(TRACKABLE)
        self.get(f"/api/v1/track/{number}?code={code}", "track")

    @task(4)
    def track_page(self) -> None:
        if not TRACKABLE:
            return self.search()
        number, code = random.choice(TRACKABLE)
        self.get(f"/services/track/?number={number}&code={code}", "track page")

    @task(12)
    def submit(self) -> None:
        """One new application; the same key again after a failure, until it is acknowledged."""
        key = uuid.uuid4().hex
        headers = dict(
            self.client_headers,
            **bearer(self.token),
            **{"Idempotency-Key": key, "Content-Type": "application/json"},
        )
        path = f"/api/v1/services/{FIXTURES['item']}/applications"
        give_up = time.monotonic() + RETRY_FOR_S
        attempt = 0
        while True:
            attempt += 1
            name = "submit" if attempt == 1 else "submit (retry)"
            with self.client.post(
                path, data=SUBMIT_BODY, headers=headers, name=name, catch_response=True
            ) as r:
                if r.status_code in (200, 201):
                    data = r.json()
                    with LEDGER_LOCK:
                        LEDGER.write(
                            json.dumps({"user": self.resident, "key": key, "number": data["number"]}) + "\n"
                        )
                        LEDGER.flush()
                    TRACKABLE.append((data["number"], data["check_code"]))
                    return
                r.failure(f"HTTP {r.status_code}")
                if 400 <= r.status_code < 500 or time.monotonic() > give_up:
                    return  # refused (not retried) or the client gives up: not acknowledged
            time.sleep(min(0.25 * 2 ** (attempt - 1), 4))

    @task(12)
    def queue(self) -> None:
        who = random.choice(["window", "dept_admin"])
        self.get("/api/v1/queue?page_size=20", "staff queue", FIXTURES["tokens"][who])

    @task(10)
    def roster(self) -> None:
        self.get("/api/v1/members?page_size=20", "member roster", FIXTURES["tokens"]["secretary"])

    @task(10)
    def learning(self) -> None:
        self.get("/api/v1/learning/recommendations?limit=10", "learning", FIXTURES["tokens"]["member"])

    @task(6)
    def dashboard(self) -> None:
        self.get("/api/v1/insights/summary", "dashboard", FIXTURES["tokens"]["street_admin"])
