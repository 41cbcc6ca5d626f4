# SPDX-License-Identifier: MIT
"""Time the metadata mock itself, from inside the instance namespace.

    python3 mockrtt.py URL MAC

Prints JSON with two medians in seconds. "sequential" is one GET of a key
over a kept-alive connection (200 of them). "wave10" is the time for 10
GETs sent at once on 10 connections to finish (30 waves), which is the
shape of enid's per-ENI key requests.
"""

import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)


def get(conn, path, token):
    conn.request("GET", path, headers={TOKEN_HEADER: token})
    response = conn.getresponse()
    response.read()
    return response.status


def main():
    url, mac = sys.argv[1], sys.argv[2]
    conn = connect(url)
    conn.request("PUT", "/latest/api/token", headers={TTL_HEADER: "300"})
    token = conn.getresponse().read().decode()
    path = "/latest/meta-data/network/interfaces/macs/%s/local-ipv4s" % mac
    sequential = []
    for _ in range(200):
        start = time.monotonic()
        get(conn, path, token)
        sequential.append(time.monotonic() - start)
    conns = [connect(url) for _ in range(10)]
    for c in conns:
        get(c, path, token)
    waves = []
    for _ in range(30):
        threads = [threading.Thread(target=get, args=(c, path, token))
                   for c in conns]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        waves.append(time.monotonic() - start)
    print(json.dumps({"sequential": statistics.median(sequential),
                      "wave10": statistics.median(waves)}))


if __name__ == "__main__":
    main()
