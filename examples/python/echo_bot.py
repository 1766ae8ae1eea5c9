"""A small echo bot written with Python's standard library and plain HTTP.

It is the bot under test in ``test_echo_bot.py``: it knows nothing of the emulator and talks
to whatever Lark Open Platform its base url names.

- A message event (``im.message.receive_v1``) is answered with a reply that repeats its text.
  The text ``card`` is answered with a card that has an Approve button.
- A click on that button (``card.action.trigger``) is answered with a toast and the card
  replaced by one whose title says "Approved".
- The ``url_verification`` challenge is echoed.
"""

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

APPROVE_CARD = {
    "schema": "2.0",
    "config": {"update_multi": True},
    "header": {"title": {"tag": "plain_text", "content": "Approve?"}},
    "body": {
        "elements": [
            {
                "tag": "button",
                "text": {"tag": "plain_text", "content": "Approve"},
                "behaviors": [{"type": "callback", "value": {"action": "approve"}}],
            }
        ]
    },
}


class EchoBot:
    """The bot: its webhook server and its calls to the platform."""

    def __init__(self):
        self.base_url = None
        self.app_id = None
        self.app_secret = None
        self.errors = []
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                try:
                    answer = bot.handle(body)
                except Exception as err:  # a failed handler answers 500 and is reported
                    bot.errors.append(repr(err))
                    self.send_response(500)
                    self.end_headers()
                    return
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def configure(self, base_url, app_id, app_secret):
        self.base_url, self.app_id, self.app_secret = base_url, app_id, app_secret

    def stop(self):
        self.server.shutdown()

    def call(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def token(self):
        answer = self.call(
            "POST",
            "/open-apis/auth/v3/tenant_access_token/internal",
            {"app_id": self.app_id, "app_secret": self.app_secret},
        )
        if answer.get("code") != 0:
            raise RuntimeError(f"no token: {answer}")
        return answer["tenant_access_token"]

    def reply(self, message_id, msg_type, content):
        answer = self.call(
            "POST",
            f"/open-apis/im/v1/messages/{message_id}/reply",
            {"msg_type": msg_type, "content": json.dumps(content)},
            self.token(),
        )
        if answer.get("code") != 0:
            raise RuntimeError(f"reply refused: {answer}")

    def handle(self, body):
        if body.get("type") == "url_verification":
            return {"challenge": body["challenge"]}
        event_type = body.get("header", {}).get("event_type")
        event = body.get("event", {})
        if event_type == "im.message.receive_v1":
            message = event["message"]
            text = json.loads(message["content"]).get("text", "")
            if text.strip() == "card":
                self.reply(message["message_id"], "interactive", APPROVE_CARD)
            else:
                self.reply(message["message_id"], "text", {"text": f"echo: {text}"})
            return {}
        if event_type == "card.action.trigger":
            approved = json.loads(json.dumps(APPROVE_CARD))
            approved["header"]["title"]["content"] = "Approved"
            approved["body"]["elements"] = []
            return {
                "toast": {"type": "success", "content": "approved"},
                "card": {"type": "raw", "data": approved},
            }
        return {}
