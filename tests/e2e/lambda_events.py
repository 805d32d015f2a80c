"""A simulated AWS Lambda container for Mira, and the events Lambda would send it.

`LambdaContainer` starts a fresh Python process that imports Zappa's handler with a generated
`zappa_settings.py` on its path, as the Lambda runtime does, then answers one event per line
(a warm container serving successive invocations). `FakeLambdaApi` stands in for the Lambda
service endpoint that `zappa.asynchronous.run` calls (through a real boto3 client pointed at it
with AWS_ENDPOINT_URL_LAMBDA), so the async payload is captured byte for byte.

Run as a script, this module is the container's side (it imports nothing of Mira itself).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
RESULT_MARK = "@@lambda-result "
REGION = "eu-central-1"
ACCOUNT = "123456789012"


# --------------------------------------------------------------------------- events


def http_event(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) request, as on a custom domain (no stage)."""
    headers = {"host": "api.mira.example", "user-agent": "mira-test", **(headers or {})}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "mira0api",
            "domainName": "api.mira.example",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "mira-test",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if body is not None:
        event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = True
    return event


def json_event(method: str, path: str, payload: Any, headers: dict[str, str] | None = None):
    body = json.dumps(payload).encode()
    return http_event(
        method, path, headers={"content-type": "application/json", **(headers or {})}, body=body
    )


def scheduled_event(rule_name: str) -> dict[str, Any]:
    """An EventBridge schedule event, shaped by the input transformer Zappa installs."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule_name}"],
        "detail": {},
    }


def response_json(result: dict[str, Any]) -> Any:
    """The JSON body of the handler's answer to an HTTP event."""
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if body else None


# --------------------------------------------------------------------------- Lambda service


class FakeLambdaApi:
    """Records Lambda `Invoke` calls on 127.0.0.1 and accepts async ones (202)."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []
        calls = self.invocations

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                calls.append(
                    {
                        "path": self.path,
                        "invocation_type": self.headers.get("X-Amz-Invocation-Type"),
                        "signed": self.headers.get("Authorization", "").startswith("AWS4-"),
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> list[dict[str, Any]]:
        taken = list(self.invocations)
        self.invocations.clear()
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def aws_environment(lambda_api_url: str, function_name: str) -> dict[str, str]:
    """What Lambda puts in a container's environment, plus a local Lambda endpoint."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_LAMBDA": lambda_api_url,
    }


# --------------------------------------------------------------------------- the container


class LambdaContainer:
    """One fresh process running Zappa's handler; `invoke` sends an event and returns the answer."""

    def __init__(self, settings_dir: Path, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            cwd=ROOT,
            env={**env, "PYTHONPATH": os.pathsep.join([str(settings_dir), str(ROOT)])},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        # A thread reads the answers: select() on a buffered text pipe misses lines it holds.
        self._answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_answers, daemon=True).start()

    def _read_answers(self) -> None:
        for line in self.process.stdout:
            if line.startswith(RESULT_MARK):
                self._answers.put(line[len(RESULT_MARK) :])
        self._answers.put(None)  # the process exited

    def invoke(self, event: dict[str, Any], timeout_s: float = 180.0) -> Any:
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        try:
            line = self._answers.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout_s} s:\n" + self.log()) from None
        if line is None:
            raise AssertionError("the Lambda process exited:\n" + self.log())
        answer = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"{answer['error']}\n{self.log()}")
        return answer["result"]

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _serve() -> None:
    """The container's side: the Lambda runtime's loop, one JSON event per line on stdin.

    `{"probe": [module names]}` is answered here, not by the handler: which of them are loaded.
    """
    import traceback

    from zappa.handler import lambda_handler

    class Context:
        function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "mira-test")
        memory_limit_in_mb = 3008
        invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"

        def __init__(self):
            self.aws_request_id = str(uuid.uuid4())

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 300_000

    for line in sys.stdin:
        event = json.loads(line)
        try:
            if "probe" in event:
                result = sorted(name for name in event["probe"] if name in sys.modules)
            else:
                result = lambda_handler(event, Context())
            answer = {"result": result}
        except Exception:
            answer = {"error": traceback.format_exc()}
        sys.stdout.write(RESULT_MARK + json.dumps(answer, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
