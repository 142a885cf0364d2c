"""`switchboard receive` prints what arrives and checks Standard Webhooks signatures."""

from __future__ import annotations

import io
import json
import threading

import requests
from switchboard.delivery import payload
from switchboard.secrets import new_signing_secret
from switchboard_local.receiver import make_server


def _post(secret: str, tamper: bool = False) -> str:
    out = io.StringIO()
    server = make_server(0, 202, secret, out)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = json.dumps({"topic": "NIS-Events", "attempt": 1}).encode()
        headers = {
            "Content-Type": "application/json",
            "X-ESS-EVENT-KEY": "+1,",
            **payload.sign("evt:1001", 1_795_000_000, body, [secret]),
        }
        response = requests.post(
            f"http://127.0.0.1:{server.server_address[1]}/hook",
            data=body + (b" " if tamper else b""),
            headers=headers,
            timeout=5,
        )
        assert response.status_code == 202
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    return out.getvalue()


def test_prints_the_request_and_a_valid_signature():
    printed = _post(new_signing_secret())
    assert "POST /hook" in printed and "x-ess-event-key: +1," in printed
    assert "signature: valid" in printed and '"topic": "NIS-Events"' in printed


def test_flags_a_tampered_body():
    assert "signature: INVALID" in _post(new_signing_secret(), tamper=True)
