"""Fixtures for driving the generated Python package against the real simulator.

The package comes from scripts/bindings.sh (PYTHONPATH=target/bindings/python); the simulator
is the `jobpack sim` CLI named by JOBPACK_BIN, started per test on a free loopback port with
a fresh CA, and stopped after it.
"""

import http.client
import json
import os
import pathlib
import socket
import ssl
import subprocess
import tempfile

import pytest

import jobpack

JOB = "S1000001"
BUCKET = "cityfibre-evidence"


class Simulator:
    def __init__(self, *args):
        binary = os.environ.get("JOBPACK_BIN")
        if not binary:
            raise RuntimeError("JOBPACK_BIN must name the jobpack CLI (scripts/test.sh sets it)")
        self._dir = tempfile.TemporaryDirectory(prefix="jobpack-sim-")
        self.certs = pathlib.Path(self._dir.name)
        self._process = subprocess.Popen(
            [binary, "sim", "--listen", "127.0.0.1:0", "--certs", str(self.certs), *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = self._process.stdout.readline()
        if not ready:
            raise RuntimeError("the simulator exited before it was ready")
        self.url = json.loads(ready)["urls"][0]

    def pem(self, name):
        return (self.certs / name).read_text()

    def config(self, database, start_online=True):
        return jobpack.Config(
            database_path=str(database),
            endpoints=[self.url],
            client_certificate_pem=self.pem("client-E001.pem"),
            client_key_pem=self.pem("client-E001.key"),
            trust_anchors_pem=self.pem("ca.pem"),
            engineer=jobpack.Engineer(id="E001", name="Sam Fielding", phone="07700900123", company=None),
            partner_catalogue_json=None,
            start_online=start_online,
            request_timeout_secs=10,
        )

    def admin(self, method, params):
        context = ssl.create_default_context(cafile=str(self.certs / "ca.pem"))
        context.load_cert_chain(str(self.certs / "client-E001.pem"), str(self.certs / "client-E001.key"))
        host, port = self.url.removeprefix("https://").split(":")
        connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        connection.request("POST", "/admin", body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        text = answer.read().decode()
        assert answer.status == 200, f"admin {method}: {answer.status} {text}"
        return json.loads(text)

    def close(self):
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._process.stdout.close()
        self._dir.cleanup()


@pytest.fixture
def simulator():
    started = []

    def start(*args):
        sim = Simulator(*args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.close()


@pytest.fixture
def offline_config(tmp_path):
    return jobpack.Config(
        database_path=str(tmp_path / "offline.sqlite"),
        endpoints=[],
        client_certificate_pem=None,
        client_key_pem=None,
        trust_anchors_pem="",
        engineer=jobpack.Engineer(id="E001", name="Sam Fielding", phone="07700900123", company=None),
        partner_catalogue_json=None,
        start_online=False,
        request_timeout_secs=10,
    )


@pytest.fixture
def s3():
    """An S3-compatible server (moto, in this process) with CityFibre's bucket; yields the
    core's storage settings and a boto3 client to check what arrived."""
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="AKIAPYTEST", aws_secret_access_key="python-test-secret",
    )
    client.create_bucket(Bucket=BUCKET)
    # QA's direct mode: the keys on the device, no hub (the phones' mode asks the hub).
    storage = jobpack.PhotoStorage(
        bucket=BUCKET, trust_anchors_pem=None, max_edge=1024,
        direct_s3=jobpack.DirectS3(
            endpoint=endpoint, region="us-east-1", access_key_id="AKIAPYTEST",
            secret_access_key="python-test-secret",
        ),
    )
    yield storage, client
    server.stop()
