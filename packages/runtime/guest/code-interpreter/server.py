#!/usr/bin/env python3
"""Coppice code interpreter: runs code in Jupyter kernels (Debian's jupyter_client + ipykernel) behind a small
HTTP API on port 49999, in the shape the @e2b/code-interpreter SDK reads.

  POST   /execute               {code, context_id?, language?, env_vars?, timeout?} -> NDJSON stream of
                                stdout, stderr, result, error, number_of_executions, end_of_execution
                                (keepalive lines while the kernel is quiet)
  POST   /contexts              {language?, cwd?} -> {id, language, cwd}
  GET    /contexts              -> [{id, language, cwd}]
  DELETE /contexts/{id}         -> 204
  POST   /contexts/{id}/restart -> 204
  GET    /health                -> 200 once the default context's kernel answers, 503 before

A timeout (the request's `timeout` seconds, or the client going away) interrupts the kernel; the sandbox and the
context's state survive. Clones restored from one checkpoint share Python's `random` state: when the generation
file (written at every checkout) changes, each context reseeds `random` (and numpy's global generator when
loaded) from the kernel's freshly reseeded CRNG before its next execution.
"""
import argparse
import json
import os
import queue
import re
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jupyter_client.manager import KernelManager

GENERATION_FILE = "/run/coppice/generation"
DEFAULT_CONTEXT_ID = "default"
PYTHON_LANGUAGES = {"python", "python3"}
KEEPALIVE_SECONDS = 1.0
INTERRUPT_GRACE_SECONDS = 10.0
KERNEL_READY_SECONDS = 120.0
# The first kernel starts while the guest boots: under TCG on a loaded host that took over two minutes.
DEFAULT_KERNEL_READY_SECONDS = 1200.0
MAX_BODY_BYTES = 16 * 1024 * 1024
CONTEXT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Jupyter MIME types -> the result fields the SDK reads; other types pass through under their MIME name.
MIME_FIELDS = {
    "text/plain": "text",
    "text/html": "html",
    "text/markdown": "markdown",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "application/pdf": "pdf",
    "text/latex": "latex",
    "application/json": "json",
    "application/javascript": "javascript",
}

RESEED_CODE = (
    "import random as __coppice_random, sys as __coppice_sys\n"
    "__coppice_random.seed()\n"
    "if 'numpy' in __coppice_sys.modules: __coppice_sys.modules['numpy'].random.seed()\n"
    "del __coppice_random, __coppice_sys\n"
)


class RequestError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    pass


def read_generation():
    try:
        with open(GENERATION_FILE, "r", encoding="utf-8") as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


class Context:
    """One Jupyter kernel and the one client that talks to it. `lock` serialises executions on it."""

    def __init__(self, context_id, language, cwd):
        self.id = context_id
        self.language = language
        self.cwd = cwd
        self.lock = threading.Lock()
        self.generation = read_generation()
        self.manager = KernelManager(kernel_name="python3")
        self.client = None

    def describe(self):
        return {"id": self.id, "language": self.language, "cwd": self.cwd}

    def start(self, ready_seconds=KERNEL_READY_SECONDS):
        self.manager.start_kernel(cwd=self.cwd)
        self._connect(ready_seconds)

    def _connect(self, ready_seconds=KERNEL_READY_SECONDS):
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=ready_seconds)
        except RuntimeError:
            self.shutdown()
            raise

    def restart(self):
        if self.client is not None:
            self.client.stop_channels()
        self.manager.restart_kernel(now=True)
        self._connect()
        self.generation = read_generation()

    def shutdown(self):
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        if self.manager.has_kernel:
            self.manager.shutdown_kernel(now=True)

    def run_silently(self, code):
        """Runs code with no output and no history entry; waits until the kernel is idle again."""
        msg_id = self.client.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + KERNEL_READY_SECONDS
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=1.0)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" \
                    and msg["content"].get("execution_state") == "idle":
                return
        raise RuntimeError("kernel did not finish a silent execution")

    def reseed_if_new_generation(self):
        generation = read_generation()
        if generation != self.generation:
            self.run_silently(RESEED_CODE)
            self.generation = generation

    def execute(self, code, env_vars, timeout, emit):
        """Runs `code`, calling emit(dict) for each event. Raises ClientGone when emit finds the client gone."""
        self.reseed_if_new_generation()
        if env_vars:
            self.run_silently(
                "import os as __coppice_os\n"
                f"__coppice_env_saved = {{k: __coppice_os.environ.get(k) for k in {list(env_vars)!r}}}\n"
                f"__coppice_os.environ.update({env_vars!r})\n"
                "del __coppice_os\n")
        try:
            self._execute_streaming(code, timeout, emit)
        finally:
            if env_vars:
                self.run_silently(
                    "import os as __coppice_os\n"
                    "for __k, __v in __coppice_env_saved.items():\n"
                    "    __coppice_os.environ.pop(__k, None) if __v is None else __coppice_os.environ.__setitem__(__k, __v)\n"
                    "del __coppice_os, __coppice_env_saved, __k, __v\n")

    def _execute_streaming(self, code, timeout, emit):
        msg_id = self.client.execute(code, silent=False, store_history=True, allow_stdin=False)
        deadline = time.monotonic() + timeout if timeout else None
        interrupted_at = None
        client_gone = False

        def send(event):
            nonlocal client_gone, interrupted_at
            if client_gone:
                return
            try:
                emit(event)
            except (BrokenPipeError, ConnectionResetError, OSError):
                client_gone = True
                if interrupted_at is None:
                    self.manager.interrupt_kernel()
                    interrupted_at = time.monotonic()

        while True:
            now = time.monotonic()
            if interrupted_at is None and deadline is not None and now >= deadline:
                self.manager.interrupt_kernel()
                interrupted_at = now
            if interrupted_at is not None and now - interrupted_at > INTERRUPT_GRACE_SECONDS:
                # The kernel ignored SIGINT (e.g. stuck in C code): a restart loses its state but frees the context.
                self.restart()
                send({"type": "error", "name": "TimeoutError", "value": "execution timed out; the context was restarted",
                      "traceback": ""})
                break
            try:
                msg = self.client.get_iopub_msg(timeout=KEEPALIVE_SECONDS)
            except queue.Empty:
                send({"type": "keepalive"})
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                send({"type": "stdout" if content.get("name") == "stdout" else "stderr", "text": content.get("text", "")})
            elif kind == "execute_input":
                send({"type": "number_of_executions", "execution_count": content.get("execution_count")})
            elif kind in ("execute_result", "display_data"):
                send(result_event(content.get("data", {}), kind == "execute_result"))
            elif kind == "error":
                send({"type": "error", "name": content.get("ename", ""), "value": content.get("evalue", ""),
                      "traceback": "\n".join(content.get("traceback", []))})
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        self._drain_shell_reply(msg_id)
        send({"type": "end_of_execution"})
        if client_gone:
            raise ClientGone()

    def _drain_shell_reply(self, msg_id):
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                reply = self.client.get_shell_msg(timeout=0.5)
            except queue.Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return


def result_event(data, is_main_result):
    event = {"type": "result", "is_main_result": is_main_result}
    for mime, value in data.items():
        event[MIME_FIELDS.get(mime, mime)] = value
    return event


class Contexts:
    def __init__(self, default_cwd):
        self.default_cwd = default_cwd
        self.lock = threading.Lock()
        self.by_id = {}
        self.ready = threading.Event()

    def start_default(self):
        context = Context(DEFAULT_CONTEXT_ID, "python", self.default_cwd)
        context.start(DEFAULT_KERNEL_READY_SECONDS)
        with self.lock:
            self.by_id[context.id] = context
        self.ready.set()

    def create(self, language, cwd):
        context = Context(uuid.uuid4().hex, normalise_language(language), cwd or self.default_cwd)
        context.start()
        with self.lock:
            self.by_id[context.id] = context
        return context

    def get(self, context_id):
        with self.lock:
            context = self.by_id.get(context_id)
        if context is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"context {context_id!r} not found")
        return context

    def remove(self, context_id):
        with self.lock:
            context = self.by_id.pop(context_id, None)
        if context is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"context {context_id!r} not found")
        with context.lock:
            context.shutdown()

    def list(self):
        with self.lock:
            return [c.describe() for c in self.by_id.values()]


def normalise_language(language):
    if language is None or language in PYTHON_LANGUAGES:
        return "python"
    raise RequestError(HTTPStatus.BAD_REQUEST, f"unsupported language {language!r} (supported: python)")


def optional(body, key, kind, what):
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise RequestError(HTTPStatus.BAD_REQUEST, f"{key} must be {what}")
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "coppice-code-interpreter"
    contexts = None  # set by main

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, fmt % args))

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        try:
            self.route()
        except RequestError as e:
            self.reply_text(e.status, e.message)
        except ClientGone:
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - one failed request must not take the server down
            self.reply_text(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(e).__name__}: {e}")

    def route(self):
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        method = self.command
        if method == "GET" and parts == ["health"]:
            if not self.contexts.ready.is_set():
                raise RequestError(HTTPStatus.SERVICE_UNAVAILABLE, "default kernel starting")
            return self.reply_json(HTTPStatus.OK, {"status": "ok"})
        if method == "POST" and parts == ["execute"]:
            return self.execute(self.read_json())
        if parts[:1] == ["contexts"]:
            if len(parts) > 1 and not CONTEXT_ID_RE.match(parts[1]):
                raise RequestError(HTTPStatus.BAD_REQUEST, "malformed context id")
            if method == "GET" and len(parts) == 1:
                return self.reply_json(HTTPStatus.OK, self.contexts.list())
            if method == "POST" and len(parts) == 1:
                body = self.read_json()
                language = optional(body, "language", str, "a string")
                cwd = optional(body, "cwd", str, "a string")
                if cwd is not None and not os.path.isdir(cwd):
                    raise RequestError(HTTPStatus.BAD_REQUEST, f"cwd {cwd!r} is not a directory")
                return self.reply_json(HTTPStatus.OK, self.contexts.create(language, cwd).describe())
            if method == "DELETE" and len(parts) == 2:
                self.contexts.remove(parts[1])
                return self.reply_empty()
            if method == "POST" and len(parts) == 3 and parts[2] == "restart":
                context = self.contexts.get(parts[1])
                with context.lock:
                    context.restart()
                return self.reply_empty()
        raise RequestError(HTTPStatus.NOT_FOUND, f"no route {method} {path}")

    def read_json(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise RequestError(HTTPStatus.BAD_REQUEST, "bad Content-Length")
        if length > MAX_BODY_BYTES:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BODY_BYTES} bytes")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not JSON: {e}")
        if not isinstance(body, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return body

    def execute(self, body):
        code = body.get("code")
        if not isinstance(code, str):
            raise RequestError(HTTPStatus.BAD_REQUEST, "code must be a string")
        context_id = optional(body, "context_id", str, "a string")
        language = optional(body, "language", str, "a string")
        if context_id is not None and language is not None:
            raise RequestError(HTTPStatus.BAD_REQUEST, "give context_id or language, not both")
        normalise_language(language)
        env_vars = optional(body, "env_vars", dict, "an object") or {}
        for k, v in env_vars.items():
            if not isinstance(v, str) or not k or "=" in k or "\0" in k or "\0" in v:
                raise RequestError(HTTPStatus.BAD_REQUEST, f"env_vars[{k!r}] must be a string, its name without '=' or NUL")
        timeout = body.get("timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise RequestError(HTTPStatus.BAD_REQUEST, "timeout must be a positive number of seconds")
        context = self.contexts.get(context_id or DEFAULT_CONTEXT_ID)
        with context.lock:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def emit(event):
                line = (json.dumps(event) + "\n").encode("utf-8")
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()

            context.execute(code, env_vars, timeout, emit)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def reply_json(self, status, value):
        payload = json.dumps(value).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def reply_text(self, status, text):
        payload = (text + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def reply_empty(self):
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=49999)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--cwd", default=os.path.expanduser("~"))
    args = parser.parse_args()
    Handler.contexts = Contexts(args.cwd)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True

    def start_default():
        while True:
            try:
                Handler.contexts.start_default()
                return
            except Exception as e:  # noqa: BLE001 - /health stays 503 and the start is tried again
                sys.stderr.write(f"code-interpreter: default kernel failed to start, retrying: {e}\n")
                time.sleep(1)

    threading.Thread(target=start_default, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
