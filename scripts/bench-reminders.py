"""Reminder latency without a browser: from a reminder's due instant to its
notification on the user's live stream (`GET /events`). Each reminder is
written straight to the SQLite database 1.5 to 1.7 s ahead, as another
replica would (the random part keeps the reminders out of step with any
poll). Prints p50, p90, p99 and the slowest.

    python3 scripts/bench-reminders.py SERVER_BINARY [REMINDERS]

Not part of the tests; `scripts/bench-toast.sh` times the same path to the
toast in Chromium.
"""

import http.client
import http.cookiejar
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid

PORT = 3221


def main() -> None:
    binary, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100
    db = os.path.join(tempfile.mkdtemp(), "cadence.db")
    env = dict(os.environ, DATABASE_URL=f"sqlite://{db}", CADENCE_BIND=f"127.0.0.1:{PORT}", RUST_LOG="warn")
    server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready()
        cookie = sign_up()
        user = sqlite3.connect(db).execute("SELECT id FROM users").fetchone()[0]
        seen: dict[int, float] = {}
        threading.Thread(target=listen, args=(cookie, seen), daemon=True).start()
        time.sleep(0.5)
        latencies = []
        writer = sqlite3.connect(db)
        for i in range(count):
            due = time.time() + 1.5 + random.random() * 0.2
            writer.execute(
                "INSERT INTO timers (id, user_id, task_id, kind, fire_at, title, label) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (uuid.uuid4().bytes, user, uuid.uuid4().bytes, "reminder", int(due * 1000), f"Reminder {i}", "At the due time"),
            )
            writer.commit()
            give_up = time.time() + 10
            while i not in seen and time.time() < give_up:
                time.sleep(0.002)
            if i not in seen:
                sys.exit(f"reminder {i} never reached the stream")
            latencies.append((seen[i] - due) * 1000)
        latencies.sort()
        at = lambda p: latencies[round((len(latencies) - 1) * p)]
        print(f"| reminders | p50 | p90 | p99 | slowest |\n|---:|---:|---:|---:|---:|")
        print(f"| {count} | {at(.5):.0f} ms | {at(.9):.0f} ms | {at(.99):.0f} ms | {latencies[-1]:.0f} ms |")
    finally:
        server.terminate()
        server.wait()


def wait_ready() -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz")
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("the server did not start")


def sign_up() -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = dict(email="bench@example.com", password="benchmark-pass", display_name="Bench", time_zone="UTC")
    opener.open(f"http://127.0.0.1:{PORT}/api/sign_up", urllib.parse.urlencode(form).encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def listen(cookie: str, seen: dict[int, float]) -> None:
    """Notes when each reminder's notification arrives on the stream."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT)
    conn.request("GET", "/events", headers={"Cookie": cookie, "Accept": "text/event-stream"})
    stream = conn.getresponse()
    while line := stream.fp.readline():
        arrived = time.time()
        text = line.decode(errors="replace")
        if text.startswith("data:") and '"notification"' in text:
            for number in re.findall(r"Reminder (\d+)", text):
                seen.setdefault(int(number), arrived)


if __name__ == "__main__":
    main()
