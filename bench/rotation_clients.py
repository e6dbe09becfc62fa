#!/usr/bin/env python3
"""Clients of a running test stack during a rotation, for bench/rotation-downtime.sh.

    rotation_clients.py --port PORT --env PROJECT/.env --stage-file FILE --out RESULT.json
                        [--users 3] [--margin 10] [--period 0.05]

Two kinds of client run until the stage file says `done`, each request counted under the
stage the file names when it starts:

- user clients: each signs up and signs in before the rotation begins (before the stage
  file names a first stage), then calls `GET /rest/v1/receptor_live_check` with
  `apikey: ANON_KEY` and `Authorization: Bearer <access token>`. As supabase-js does, it
  refreshes the session shortly before the access token expires (`--margin` seconds), and
  on a 401 refreshes and retries once. A refresh that fails ends the session: the client
  signs in again, a forced re-login.
- API-key clients: `GET /rest/v1/receptor_live_check` with ANON_KEY, and
  `GET /auth/v1/admin/users` with SERVICE_ROLE_KEY, read from `.env` before every
  request (a client configured with the current keys).

A request fails when it gets no HTTP answer, a 5xx, or a refusal of its key or token that
a refresh does not cure. 404 from /rest/v1/receptor_live_check is success (no such table:
Kong and PostgREST took the key). No key or token is ever printed.
"""

import argparse
import http.client
import json
import threading
import time
import uuid
from collections import defaultdict

LIVE = "/rest/v1/receptor_live_check"
ADMIN = "/auth/v1/admin/users?per_page=1"


def read_env(path):
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                values[name] = value.strip().strip('"').strip("'")
    return values


def request(port, method, path, headers, body=None):
    """(status, parsed JSON or None); status 0 when no HTTP answer came."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        data = None if body is None else json.dumps(body).encode()
        all_headers = dict(headers)
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=all_headers)
        answer = conn.getresponse()
        raw = answer.read()
        conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return answer.status, parsed
    except (OSError, http.client.HTTPException):
        return 0, None


class Tally:
    def __init__(self, stage_file):
        self.stage_file = stage_file
        self.lock = threading.Lock()
        self.counts = defaultdict(lambda: defaultdict(int))
        self.order = []

    def stage(self):
        try:
            with open(self.stage_file, encoding="utf-8") as handle:
                return handle.read().strip() or "before"
        except OSError:
            return "before"

    def add(self, stage, what, n=1):
        with self.lock:
            if stage not in self.order:
                self.order.append(stage)
            self.counts[stage][what] += n


class User:
    def __init__(self, args, tally):
        self.args, self.tally = args, tally
        self.email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
        self.password = uuid.uuid4().hex
        self.session = None
        self.lost = False

    def relogin(self, stage):
        """The session could not be refreshed: one forced re-login until a sign-in works."""
        if not self.lost:
            self.tally.add(stage, "forced re-logins")
            self.lost = True
        if self.sign_in():
            self.lost = False

    def anon(self):
        return read_env(self.args.env).get("ANON_KEY", "")

    def keep(self, status, session):
        if status == 200 and session and session.get("access_token"):
            self.session = session
            return True
        return False

    def sign_in(self):
        status, session = request(
            self.args.port,
            "POST",
            "/auth/v1/token?grant_type=password",
            {"apikey": self.anon()},
            {"email": self.email, "password": self.password},
        )
        return self.keep(status, session)

    def sign_up(self):
        status, session = request(
            self.args.port,
            "POST",
            "/auth/v1/signup",
            {"apikey": self.anon()},
            {"email": self.email, "password": self.password},
        )
        return self.keep(status, session) or self.sign_in()

    def refresh(self):
        status, session = request(
            self.args.port,
            "POST",
            "/auth/v1/token?grant_type=refresh_token",
            {"apikey": self.anon()},
            {"refresh_token": self.session["refresh_token"]},
        )
        return self.keep(status, session)

    def call(self):
        headers = {"apikey": self.anon(), "Authorization": "Bearer " + self.session["access_token"]}
        return request(self.args.port, "GET", LIVE, headers)[0]

    def run(self, stop):
        while not stop.is_set():
            stage = self.tally.stage()
            if stage == "before":
                time.sleep(self.args.period)
                continue
            expires_at = self.session.get("expires_at") or 0
            if self.lost:
                self.relogin(stage)
            elif expires_at - time.time() < self.args.margin and not self.refresh():
                self.relogin(stage)
            status = self.call()
            if status == 401:
                if not self.refresh():
                    self.relogin(stage)
                status = self.call()
            self.tally.add(stage, "user requests")
            if status != 404:
                self.tally.add(stage, "user failed")
            time.sleep(self.args.period)


def api_key_client(args, tally, stop):
    while not stop.is_set():
        stage = tally.stage()
        if stage == "before":
            time.sleep(args.period)
            continue
        env = read_env(args.env)
        anon, service = env.get("ANON_KEY", ""), env.get("SERVICE_ROLE_KEY", "")
        for path, key, ok in ((LIVE, anon, 404), (ADMIN, service, 200)):
            status, _ = request(args.port, "GET", path, {"apikey": key, "Authorization": "Bearer " + key})
            tally.add(stage, "key requests")
            if status != ok:
                tally.add(stage, "key failed")
        time.sleep(args.period)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--stage-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--margin", type=float, default=10.0)
    parser.add_argument("--period", type=float, default=0.05)
    args = parser.parse_args()

    tally = Tally(args.stage_file)
    users = [User(args, tally) for _ in range(args.users)]
    for user in users:
        if not user.sign_up():
            raise SystemExit("error: a bench user could not sign up and sign in before the rotation")
    stop = threading.Event()
    threads = [threading.Thread(target=u.run, args=(stop,)) for u in users]
    threads.append(threading.Thread(target=api_key_client, args=(args, tally, stop)))
    for thread in threads:
        thread.start()
    # Ready: the users are signed in.
    with open(args.out + ".ready", "w", encoding="utf-8") as handle:
        handle.write("ready\n")
    while tally.stage() != "done":
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join()
    result = [
        {"stage": stage, **{k: v for k, v in tally.counts[stage].items()}}
        for stage in tally.order
        if stage != "done"
    ]
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
