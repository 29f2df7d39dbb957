#!/usr/bin/env python3
"""Webhook delivery against the release binary and a local receiver (target/release/webhook-sink).

    python3 bench/webhooks.py sqlite      # embedded default: one process
    python3 bench/webhooks.py postgres    # API and one worker as separate processes,
                                          # $BENCH_POSTGRES_URL's server and $BENCH_REDIS_URL

1. Latency: with the queues idle, POST /v1/contacts/{id}/test one at a time (PINGS of them) and
   time each from the start of the request to the receiver's arrival stamp: p50, p99, max.
2. Throughput: CONTACTS payer contacts subscribed to denial.created, then a generated 835 of
   CLAIMS claims; every denial becomes one delivery per contact. Deliveries per second is the
   number delivered over the time from the first arrival to the last.

3. MODE=fairness: instead of 2, one payer contact gets the denials of a CLAIMS-claim file
   (CLAIMS=42000 makes about 10,000) while another contact is pinged every half second; each
   ping's time to arrival shows whether the backlog held it up.

Needs: cargo build --release -p overturn -p overturn-tests.
"""
import datetime
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request

backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
pings = int(os.environ.get("PINGS", "300"))
contacts = int(os.environ.get("CONTACTS", "8"))
claims = int(os.environ.get("CLAIMS", "5000"))
port = int(os.environ.get("PORT", "18283"))
sink_port = port + 10
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bin_dir = os.path.join(root, "target", "release")
admin = secrets.token_hex(24)
work = tempfile.mkdtemp()
procs = []
pg_server = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
db_name = f"overturn_bench_wh_{os.getpid()}"


def request(method, path, body=None, content_type="application/json", data=None):
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {admin}")
    if data is not None:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=120) as res:
        return json.loads(res.read() or b"null")


def wait_ready(p):
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{p}/ready", timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"no /ready on {p}")


def lines(path):
    """Every arrival, in order: (unix nanoseconds, webhook-id)."""
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out.append((int(parts[0]), parts[1]))
    return out


def arrivals(path):
    """The first arrival of each webhook-id."""
    out = {}
    for stamp, webhook_id in lines(path):
        out.setdefault(webhook_id, stamp)
    return out


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ping(contact, arrivals_path):
    """A test event to `contact`: milliseconds from the request's start to its arrival."""
    started = time.time_ns()
    webhook_id = request("POST", f"/v1/contacts/{contact}/test")["webhook_id"]
    while True:
        got = arrivals(arrivals_path).get(webhook_id)
        if got:
            return (got - started) / 1e6
        time.sleep(0.001)


def main():
    arrivals_path = os.path.join(work, "arrivals.txt")
    sink = subprocess.Popen([os.path.join(bin_dir, "webhook-sink"), f"127.0.0.1:{sink_port}"],
                            stdout=open(arrivals_path, "w"))
    procs.append(sink)
    env = dict(os.environ, OVERTURN_DATA_DIR=work, OVERTURN_BOOTSTRAP_ADMIN_KEY=admin,
               OVERTURN_WEBHOOK_ALLOW_PRIVATE="true", RUST_LOG=os.environ.get("BENCH_RUST_LOG", "warn"),
               OVERTURN_LOG_FORMAT="json")
    binary = os.environ.get("OVERTURN_BIN") or os.path.join(bin_dir, "overturn")
    if backend == "postgres":
        subprocess.run(["psql", pg_server, "-qc", f"CREATE DATABASE {db_name}"], check=True)
        env.update(DATABASE_URL=pg_server.rsplit("/", 1)[0] + "/" + db_name,
                   REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
                   OVERTURN_QUEUE_NAME=f"bench-wh-{os.getpid()}",
                   OVERTURN_SECRETS_KEY=__import__("base64").b64encode(os.urandom(32)).decode())
        procs.append(subprocess.Popen([binary, "serve", "--role", "api"],
                                      env=dict(env, OVERTURN_ADDR=f"127.0.0.1:{port}"),
                                      stderr=open(os.path.join(work, "api.log"), "w")))
        wait_ready(port)
        procs.append(subprocess.Popen([binary, "serve", "--role", "worker"],
                                      env=dict(env, OVERTURN_ADDR=f"127.0.0.1:{port + 1}"),
                                      stderr=open(os.path.join(work, "worker.log"), "w")))
        wait_ready(port + 1)
    else:
        procs.append(subprocess.Popen([binary, "serve"], env=dict(env, OVERTURN_ADDR=f"127.0.0.1:{port}"),
                                      stderr=open(os.path.join(work, "all.log"), "w")))
        wait_ready(port)
    sink_url = f"http://127.0.0.1:{sink_port}/hooks"

    # 1. Latency, one event at a time on idle queues.
    ping_contact = request("POST", "/v1/contacts", {"kind": "patient", "reference": "MBR-LAT",
                                                     "name": "latency", "webhook_url": sink_url})["id"]
    latencies = []
    for _ in range(pings):
        latencies.append(ping(ping_contact, arrivals_path))
    print(f"backend={backend} latency over {pings} test events, request start to arrival: "
          f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
          f"max {max(latencies):.1f} ms")

    if os.environ.get("MODE") == "fairness":
        return fairness(sink_url, arrivals_path, ping_contact)

    # 2. Throughput: every denial of a generated file to each payer contact.
    before = len(lines(arrivals_path))
    for i in range(contacts):
        request("POST", "/v1/contacts", {"kind": "payer", "reference": "GEN01", "name": f"payer {i}",
                                          "webhook_url": sink_url, "events": ["denial.created"]})
    edi = subprocess.run([os.path.join(bin_dir, "gen-835"), "--claims", str(claims), "--seed", "91"],
                         capture_output=True, check=True).stdout
    started = time.time_ns()
    remittance = request("POST", "/v1/remittances", data=edi, content_type="application/edi-x12")
    while True:
        # Classified first, then nothing pending: read the other way round, a moment when the
        # deliveries made so far were all sent could pass for the end.
        listed = request("GET", f"/v1/remittances/{remittance['id']}")
        ready = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/ready").read())
        if listed.get("classified_at") and ready["webhooks_pending"] == 0 and ready["outbox_pending"] == 0:
            break
        time.sleep(0.2)
    time.sleep(0.3)
    stamps = sorted(stamp for stamp, _ in lines(arrivals_path)[before:])
    delivered = len(stamps)
    span = (stamps[-1] - stamps[0]) / 1e9 if delivered > 1 else float("nan")
    print(f"backend={backend} {delivered} deliveries ({contacts} contacts x the denials of {claims} claims): "
          f"{delivered / span:.0f} deliveries/s from first to last arrival ({span:.2f} s); "
          f"{(stamps[-1] - started) / 1e9:.2f} s from the POST to the last arrival")
    if os.environ.get("BENCH_SHAPE"):
        # Arrivals per half second from the POST: a steady rate, or bursts waiting on something.
        buckets = {}
        for stamp in stamps:
            buckets[(stamp - started) // 500_000_000] = buckets.get((stamp - started) // 500_000_000, 0) + 1
        print("  per 0.5 s from the POST: " + " ".join(str(buckets.get(i, 0)) for i in range(max(buckets) + 1)))
    # Classification writes the deliveries page by page, on the same worker that sends them,
    # so the rate above includes making them. Once the remittance is classified every
    # delivery exists: what arrives after that is the worker draining a backlog.
    listed = request("GET", f"/v1/remittances/{remittance['id']}")
    classified = int(datetime.datetime.fromisoformat(listed["classified_at"].replace("Z", "+00:00")).timestamp() * 1e9)
    after = [stamp for stamp in stamps if stamp >= classified]
    if len(after) > 1 and stamps[-1] > classified:
        print(f"  backlog drain after classification: {len(after)} deliveries in {(stamps[-1] - classified) / 1e9:.2f} s, "
              f"{len(after) / ((stamps[-1] - classified) / 1e9):.0f} deliveries/s")
    for p in ([port] if backend == "sqlite" else [port + 1]):
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{p}/metrics").read().decode()
        print("  " + ", ".join(l for l in metrics.splitlines() if l.startswith("overturn_webhook_attempts_total")))


def fairness(sink_url, arrivals_path, ping_contact):
    """3. (MODE=fairness) One payer contact with a backlog: the denials of a CLAIMS-claim file
    to it alone. While the backlog drains, a ping to another contact every half second; each
    ping's time to arrival says whether the backlog held it up."""
    request("POST", "/v1/contacts", {"kind": "payer", "reference": "GEN01", "name": "busy payer",
                                     "webhook_url": sink_url, "events": ["denial.created"]})
    edi = subprocess.run([os.path.join(bin_dir, "gen-835"), "--claims", str(claims), "--seed", "91"],
                         capture_output=True, check=True).stdout
    before = len(lines(arrivals_path))
    posted = time.time()
    remittance = request("POST", "/v1/remittances", data=edi, content_type="application/edi-x12")
    waits, most_pending = [], 0
    while True:
        listed = request("GET", f"/v1/remittances/{remittance['id']}")
        ready = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/ready").read())
        most_pending = max(most_pending, ready["webhooks_pending"])
        if listed.get("classified_at") and ready["webhooks_pending"] == 0:
            break
        if ready["webhooks_pending"] > 0:
            waits.append(ping(ping_contact, arrivals_path))
        time.sleep(0.5)
    backlog = len(lines(arrivals_path)) - before - len(waits)
    print(f"backend={backend} fairness: {backlog} deliveries to one contact (at most {most_pending} pending), "
          f"all sent {time.time() - posted:.1f} s after the POST; "
          f"{len(waits)} pings to another meanwhile: p50 {percentile(waits, 0.5):.0f} ms, "
          f"max {max(waits):.0f} ms" if waits else f"backend={backend} fairness: no ping ran during the backlog")


try:
    main()
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except Exception:
            p.kill()
    if backend == "postgres":
        subprocess.run(["psql", pg_server, "-qc", f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"])
