#!/usr/bin/env python3
"""Reads a fresh access token from a Latchkey server with Python's standard library only.

The same call works against Nango: GET /connection/<id>?provider_config_key=<key> with
`Authorization: Bearer <secret key>`; the server refreshes the token first when it is about
to expire, so read it right before each use and do not cache it.

Usage:
    LATCHKEY_URL=http://127.0.0.1:3003 LATCHKEY_API_KEY=... \
        python3 examples/python-client.py <provider_config_key> <connection_id>
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def get_connection(base_url, api_key, provider_config_key, connection_id, force_refresh=False):
    query = urllib.parse.urlencode(
        {"provider_config_key": provider_config_key, "force_refresh": "true" if force_refresh else "false"}
    )
    url = "%s/connection/%s?%s" % (base_url.rstrip("/"), urllib.parse.quote(connection_id, safe=""), query)
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + api_key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        # Errors are JSON: {"error": {"code": ..., "message": ...}, "message": ...}; never a secret.
        body = json.load(error)
        raise SystemExit("latchkey: %s %s: %s" % (error.code, body["error"]["code"], body["message"]))


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: python-client.py <provider_config_key> <connection_id>")
    connection = get_connection(
        os.environ.get("LATCHKEY_URL", "http://127.0.0.1:3003"),
        os.environ["LATCHKEY_API_KEY"],
        sys.argv[1],
        sys.argv[2],
    )
    # The token goes to the API call, not to a log; this example prints it to hand it to the test.
    print(json.dumps({"access_token": connection["credentials"]["access_token"], "expires_at": connection["credentials"].get("expires_at")}))


if __name__ == "__main__":
    main()
