"""A bot written in Python, tested against ``lark emulator`` through its control API.

Run by ``cargo xtask ci`` when python3 is present. By hand::

    cargo build -p larkrs-cli
    LARK_BIN=target/debug/lark python3 -m pytest examples/python

No Rust is written here: the emulator is a separate process, the bot speaks plain HTTP, and
the test acts as a user and reads what the bot did over ``/__emulator/v1``.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from echo_bot import EchoBot


class Emulator:
    """A running ``lark emulator`` and its control API."""

    def __init__(self, webhook_url):
        binary = os.environ.get("LARK_BIN", "lark")
        self.process = subprocess.Popen(
            [binary, "--json", "emulator", "--addr", "127.0.0.1:0", "--webhook", webhook_url],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.info = json.loads(self.process.stdout.readline())
        self.control_url = self.info["control_url"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.control_url + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} {path}: {err.code} {err.read().decode()}") from None


@pytest.fixture
def setup():
    bot = EchoBot()
    emulator = Emulator(bot.url)
    bot.configure(emulator.info["base_url"], emulator.info["app_id"], emulator.info["app_secret"])
    yield emulator, bot
    emulator.stop()
    bot.stop()


def bot_messages(emulator, chat):
    items = emulator.control("GET", f"/chats/{chat}/messages")["items"]
    return [m for m in items if m["sender"]["sender_type"] == "app"]


def test_the_bot_echoes_a_users_message_in_a_reply(setup):
    emulator, bot = setup
    chat = emulator.info["chat_id"]
    said = emulator.control("POST", f"/chats/{chat}/messages", {"as": "Tom", "text": "hello bot"})

    emulator.control("POST", "/wait", {"for": "messages", "chat_id": chat, "from": "bot"})

    [reply] = bot_messages(emulator, chat)
    assert json.loads(reply["body"]["content"]) == {"text": "echo: hello bot"}
    assert reply["parent_id"] == said["message_id"]
    assert bot.errors == []


def test_a_click_on_the_bots_card_updates_the_card(setup):
    emulator, bot = setup
    chat = emulator.info["chat_id"]
    emulator.control("POST", f"/chats/{chat}/messages", {"as": "Tom", "text": "card"})
    emulator.control("POST", "/wait", {"for": "messages", "chat_id": chat, "from": "bot"})
    [card] = bot_messages(emulator, chat)

    clicked = emulator.control(
        "POST",
        f"/messages/{card['message_id']}/click",
        {"as": "Tom", "value": {"action": "approve"}},
    )

    assert clicked["card_updated"] is True
    assert clicked["toast"]["content"] == "approved"
    stored = emulator.control("GET", f"/messages/{card['message_id']}")
    assert json.loads(stored["body"]["content"])["header"]["title"]["content"] == "Approved"
    assert bot.errors == []
