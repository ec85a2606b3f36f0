"""A county system's end of the 12345 webhooks: verify each delivery, keep it, acknowledge.

    WEBHOOK_SECRET=whsec_...            # shown once when the subscription was created
    HOTLINE_URL=https://12345.example   # optional: acknowledge dispatched tickets through the API
    HOTLINE_TOKEN=...                   # a bearer token of the unit's handler (POST /api/v1/auth/token)
    RECEIVED_LOG=received.jsonl         # optional: one JSON line per verified delivery
    python webhook_receiver.py 8645     # then subscribe http(s)://<host>:8645/webhooks/12345

Answer 2xx quickly: anything else (or no answer within 10 s) is retried with backoff for
more than 24 h, in order per ticket. The same `webhook-id` may come twice (a retry after a
timeout): act on it once. A 410 answer ends the subscription.
"""

import json
import os
import sys

import requests
from flask import Flask, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

app = Flask(__name__)
webhook = Webhook(os.environ["WEBHOOK_SECRET"])
HOTLINE_URL, TOKEN = os.environ.get("HOTLINE_URL"), os.environ.get("HOTLINE_TOKEN")
LOG = os.environ.get("RECEIVED_LOG")
acted_on: set[str] = set()


@app.post("/webhooks/12345")
def receive():
    try:
        message = webhook.verify(request.get_data(), dict(request.headers))
    except WebhookVerificationError as error:
        return {"error": str(error)}, 400
    if LOG:
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"webhook_id": request.headers["webhook-id"], **message},
                                 ensure_ascii=False) + "\n")
    if message["id"] in acted_on:
        return "", 204
    acted_on.add(message["id"])
    ticket = message["data"].get("ticket") or {}
    if message["type"] == "ticket.dispatched" and HOTLINE_URL and TOKEN:
        # 签收: our system has the ticket. A 409 (already acknowledged) is fine.
        requests.post(f"{HOTLINE_URL}/api/v1/tickets/{ticket['id']}/actions/acknowledge", json={},
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    return "", 204


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 8645)
