"""Reviews: a service in Python, to show that any program runs under Flotilla.

Listens on the PORT it is given, answers /healthz and /ready, and stops cleanly on SIGTERM.
REVIEWS_VERSION changes the version in its answers (a good rollout to try); REVIEWS_BROKEN=1 makes
/ready fail forever (a rollout that must be rolled back); REVIEWS_FAIL_RATE=0.2 makes a fifth of the
answers a 500 (a canary that analysis must abort). Each review answer carries a timestamp and a
generated id (different in every answer: noise for a parallel run); REVIEWS_AVERAGE=integer rounds
the average rating to a whole number (a "new implementation" that differs for some items only).
"""
import json
import os
import random
import time
import uuid
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "reviews " + os.environ.get("REVIEWS_VERSION", "1.0.0")
BROKEN = os.environ.get("REVIEWS_BROKEN") == "1"
FAIL_RATE = float(os.environ.get("REVIEWS_FAIL_RATE", "0"))
WHOLE_AVERAGE = os.environ.get("REVIEWS_AVERAGE") == "integer"
INSTANCE = os.environ.get("FLOTILLA_INSTANCE", "local")
REVIEWS = {
    1: [{"stars": 5, "text": "Perfect crema."}],
    2: [{"stars": 4, "text": "Pours well."}],
    3: [{"stars": 5, "text": "Consistent grind."}, {"stars": 4, "text": "Loud."}],
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus delayed ACKs add ~40 ms.
    disable_nagle_algorithm = True

    def do_GET(self):
        if self.path == "/ready" and BROKEN:
            return self.reply(503, {"status": "not ready: REVIEWS_BROKEN=1"})
        if self.path in ("/healthz", "/ready"):
            return self.reply(200, {"status": "ok"})
        if FAIL_RATE and self.path not in ("/healthz", "/ready") and random.random() < FAIL_RATE:
            return self.reply(500, {"error": f"failing on purpose (REVIEWS_FAIL_RATE={FAIL_RATE})", "version": VERSION})
        if self.path == "/":
            return self.reply(200, {"service": "reviews", "version": VERSION, "instance": INSTANCE})
        if self.path.startswith("/reviews/"):
            try:
                item = int(self.path.rsplit("/", 1)[1])
            except ValueError:
                return self.reply(400, {"error": "item id must be a number"})
            reviews = REVIEWS.get(item, [])
            return self.reply(200, {
                "version": VERSION, "instance": INSTANCE, "item": item, "reviews": reviews,
                "average": average([r["stars"] for r in reviews]),
                "generatedAt": time.time(), "requestId": str(uuid.uuid4()),
            })
        return self.reply(404, {"error": f"no route {self.path}"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass  # per-request lines would flood the instance log


def average(stars):
    if not stars:
        return None
    mean = sum(stars) / len(stars)
    return int(mean + 0.5) if WHOLE_AVERAGE else round(mean, 1)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    # SystemExit unwinds serve_forever in this thread; server.shutdown() from here would deadlock.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{VERSION} listening on 127.0.0.1:{sys.argv[1]}", flush=True)
    if BROKEN:
        print("REVIEWS_BROKEN=1: /ready answers 503, this instance will never be ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
