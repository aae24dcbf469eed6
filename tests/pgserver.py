"""A real PostgreSQL server for the tests: initdb in a temp folder, listening on 127.0.0.1 on a free port.

PostgreSQL refuses to run as root, so under root the server runs as ``nobody`` (``setpriv``) with the
folder given to it. The server uses password (SCRAM) authentication, so a wrong password is a real
refusal. ``TIERGATE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) turns a missing server binary from a skip
into a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

USER = "tiergate"
PASSWORD = "s3cret-Pa55word"
DATABASE = "spend"
START_TIMEOUT_S = 30

# LiteLLM's LiteLLM_SpendLogs as its Prisma schema creates it in PostgreSQL (String -> text,
# Float -> double precision, Int -> integer, DateTime -> timestamp(3), Json -> jsonb).
SPEND_LOGS = '''
CREATE TABLE "LiteLLM_SpendLogs" (
    "request_id" text PRIMARY KEY,
    "call_type" text NOT NULL,
    "api_key" text NOT NULL DEFAULT '',
    "spend" double precision NOT NULL DEFAULT 0.0,
    "total_tokens" integer NOT NULL DEFAULT 0,
    "prompt_tokens" integer NOT NULL DEFAULT 0,
    "completion_tokens" integer NOT NULL DEFAULT 0,
    "startTime" timestamp(3) NOT NULL,
    "endTime" timestamp(3) NOT NULL,
    "completionStartTime" timestamp(3),
    "model" text NOT NULL DEFAULT '',
    "model_id" text DEFAULT '',
    "model_group" text DEFAULT '',
    "custom_llm_provider" text DEFAULT '',
    "api_base" text DEFAULT '',
    "user" text DEFAULT '',
    "metadata" jsonb DEFAULT '{}',
    "cache_hit" text DEFAULT '',
    "cache_key" text DEFAULT '',
    "request_tags" jsonb DEFAULT '[]',
    "team_id" text,
    "end_user" text,
    "requester_ip_address" text,
    "session_id" text,
    "status" text
);
CREATE INDEX ON "LiteLLM_SpendLogs" ("startTime");
'''


def binaries() -> Optional[Path]:
    """The folder holding initdb and postgres: on PATH, /usr/local/bin, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += [Path("/usr/local/bin")] + [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    def uri(self, password: str = PASSWORD, database: str = DATABASE, user: str = USER) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: fast shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def _as_server_user(command: list[str]) -> list[str]:
    """Under root, ``setpriv`` execs the command as nobody: the process we hold is the server itself, so signals reach it."""
    if os.geteuid() != 0:
        return command
    nobody = pwd.getpwnam("nobody")
    return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--", *command]


def start(bin_dir: Path) -> Server:
    root = Path(tempfile.mkdtemp(prefix="tiergate-pg-"))
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (root, pwfile):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    data = root / "data"
    env = dict(os.environ, LC_ALL="C", LANG="C")
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
                                    "--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions"]),
                   cwd=root, env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    process = subprocess.Popen(_as_server_user([str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                                                "-k", str(root), "-c", "fsync=off", "-c", "synchronous_commit=off",
                                                "-c", "full_page_writes=off", "-c", "max_connections=30"]),
                               cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(root, port, process)
    _wait(server)
    return server


def _wait(server: Server) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with psycopg.connect(server.uri(database="postgres"), connect_timeout=2, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {DATABASE}")
            return
        except psycopg.OperationalError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("the test PostgreSQL server did not start")
            time.sleep(0.2)
