"""moto's S3 server, with the presigned-URL authentication that moto itself lacks.

moto ignores query-string SigV4 (it only checks `Authorization` headers, and only when IAM
checks are on), so on its own it would accept any key, any secret and any signature. This
runs the same server as `python -m moto.server -H HOST -p PORT` behind a small WSGI layer
that checks every presigned request with botocore's own SigV4 implementation against the
one key pair given in JOBPACK_S3_ACCESS_KEY_ID / JOBPACK_S3_SECRET_ACCESS_KEY, and answers
like S3 does: 403 InvalidAccessKeyId for an unknown key, 403 SignatureDoesNotMatch for a
wrong secret or a changed signed header. Requests without a presigned signature are refused
too; /moto-api stays open for moto's own controls.

Usage: python s3_stand_in.py -H 127.0.0.1 -p PORT
(jobpack-sim runs it as `python -c <this file> -H ... -p ...`)
"""

import argparse
import datetime
import hmac
import os
from urllib.parse import parse_qsl, unquote

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple

ACCESS_KEY_ID = os.environ["JOBPACK_S3_ACCESS_KEY_ID"]
SECRET_ACCESS_KEY = os.environ["JOBPACK_S3_SECRET_ACCESS_KEY"]


def s3_error(environ, start_response, code, message):
    # Read the request body first: answering before it is read lets the connection be
    # closed under a client that is still sending, which the client sees as a reset.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()
    start_response(
        "403 Forbidden",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]


def expected_signature(environ, raw_query, params):
    """The signature botocore computes for this request with the known secret."""
    credential = unquote(params["X-Amz-Credential"]).split("/")
    _key, date, region, service = credential[0], credential[1], credential[2], credential[3]
    signed = unquote(params["X-Amz-SignedHeaders"]).split(";")
    headers = {}
    for name in signed:
        if name == "host":
            headers["host"] = environ.get("HTTP_HOST", "")
        elif name == "content-type":
            headers[name] = environ.get("CONTENT_TYPE", "")
        elif name == "content-length":
            headers[name] = environ.get("CONTENT_LENGTH", "")
        else:
            headers[name] = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    unsigned_query = "&".join(
        part for part in raw_query.split("&") if not part.startswith("X-Amz-Signature=")
    )
    raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
    raw_path = raw_path.split("?", 1)[0]
    request = AWSRequest(
        method=environ["REQUEST_METHOD"],
        url=f"http://{headers.get('host', 'localhost')}{raw_path}?{unsigned_query}",
        headers=headers,
    )
    request.context["timestamp"] = unquote(params["X-Amz-Date"])
    assert request.context["timestamp"].startswith(date)
    auth = S3SigV4QueryAuth(
        Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), service, region
    )
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


def expired(raw):
    """True when X-Amz-Date + X-Amz-Expires lies in the past, as S3 judges a presigned URL."""
    try:
        signed_at = datetime.datetime.strptime(unquote(raw["X-Amz-Date"]), "%Y%m%dT%H%M%SZ")
        lifetime = int(raw["X-Amz-Expires"])
    except (KeyError, ValueError):
        return False
    signed_at = signed_at.replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    return now > signed_at + datetime.timedelta(seconds=lifetime)


def with_presigned_auth(app):
    def checked(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return app(environ, start_response)
        raw_query = environ.get("QUERY_STRING", "")
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        # parse_qsl decodes; keep the raw values for the credential check below.
        raw = dict(part.partition("=")[::2] for part in raw_query.split("&") if part)
        if "X-Amz-Signature" not in raw:
            return s3_error(environ, start_response, "AccessDenied", "Only presigned requests are accepted.")
        key = unquote(raw.get("X-Amz-Credential", "")).split("/")[0]
        if key != ACCESS_KEY_ID:
            return s3_error(
                environ,
                start_response,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        if expired(raw):
            return s3_error(environ, start_response, "AccessDenied", "Request has expired")
        try:
            expected = expected_signature(environ, raw_query, raw)
        except (KeyError, IndexError, AssertionError):
            expected = None
        if expected is None or not hmac.compare_digest(expected, params["X-Amz-Signature"]):
            return s3_error(
                environ,
                start_response,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        return app(environ, start_response)

    return checked


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        with_presigned_auth(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
