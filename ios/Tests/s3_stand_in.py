"""CityFibre's photo bucket for the Swift tests: moto's S3 server on a free loopback port with
the bucket made. Prints the endpoint on one line, then serves until it is terminated.

The Swift tests run chrooted in a Debian 13 tree without Python, so scripts/test.sh starts
this on the host (the tree shares the host's loopback) and passes the endpoint in
JOBPACK_S3_ENDPOINT.  Usage: python s3_stand_in.py BUCKET
"""

import signal
import socket
import sys
import threading

import boto3
from moto.server import ThreadedMotoServer

bucket = sys.argv[1] if len(sys.argv) > 1 else "cityfibre-evidence"
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
endpoint = f"http://127.0.0.1:{port}"
boto3.client(
    "s3", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id="AKIASWIFTTEST", aws_secret_access_key="swift-test-secret",
).create_bucket(Bucket=bucket)
print(endpoint, flush=True)

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
server.stop()
