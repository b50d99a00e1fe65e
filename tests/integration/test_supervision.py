"""`make run` supervision (issue #15 part 7): gunicorn, the Celery worker and Celery beat run
under supervisor with deploy/supervisord.conf, as scripts/run.sh starts them. A killed process
is restarted and the event is logged; the others keep running; a worker killed with SIGKILL
leaves no second beat behind (beat is its own program); stopping supervisor stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "supervisord.conf"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _until(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


class Supervised:
    """supervisord with LabBook's config, in a temporary run directory."""

    def __init__(self, var: Path, session_id: str):
        self.var = var
        self.port = _free_port()
        self.log = var / "supervisord.out"
        self.queue = f"supervised-{session_id}"
        env = dict(
            os.environ,
            LABBOOK_ROOT=str(ROOT),
            LABBOOK_VAR=str(var),
            LABBOOK_BIND=f"127.0.0.1:{self.port}",
            LABBOOK_WEB_WORKERS="1",
            LABBOOK_WORKER_CONCURRENCY="1",
            LABBOOK_CELERY_QUEUE=self.queue,  # no other test's tasks
            SECRET_KEY="supervision-test",
        )
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/supervisord"), "-c", str(CONFIG)],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def ctl(self, *args: str) -> str:
        out = subprocess.run(
            [
                str(ROOT / ".venv/bin/supervisorctl"),
                "-s",
                f"unix://{self.var}/supervisor.sock",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout.strip()

    def pid(self, name: str) -> int | None:
        text = self.ctl("pid", name)
        return int(text) if text.isdigit() and int(text) > 0 else None

    def running(self, name: str) -> int | None:
        status = self.ctl("status", name)
        return self.pid(name) if " RUNNING " in f" {status} " else None

    def web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/accounts/login/", timeout=5
            ) as response:
                return response.status == 200
        except OSError:
            return False

    def beats(self) -> list[int]:
        """Pids of the beat processes using this run's schedule file (any parent)."""
        found = subprocess.run(
            ["pgrep", "-f", f"beat .*{self.var}/celerybeat-schedule"],
            capture_output=True,
            text=True,
        )
        return sorted(int(pid) for pid in found.stdout.split())

    def logged(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def supervised(tmp_path, session_id):
    run = Supervised(tmp_path, session_id)
    yield run
    run.stop()
    # a worker killed with SIGKILL leaves its pool process orphaned: end it (and anything
    # else of this run), by the test's own queue name and run directory
    subprocess.run(["pkill", "-KILL", "-f", run.queue], check=False)
    subprocess.run(["pkill", "-KILL", "-f", str(tmp_path)], check=False)


def test_a_killed_process_is_restarted_and_the_other_keeps_running(supervised):
    web = _until(lambda: supervised.running("web"), 60, "web RUNNING")
    worker = _until(lambda: supervised.running("worker"), 60, "worker RUNNING")
    beat = _until(lambda: supervised.running("beat"), 60, "beat RUNNING")
    _until(supervised.web_answers, 60, "gunicorn answering")
    assert supervised.beats() == [beat]  # the worker runs none of its own

    os.kill(worker, signal.SIGKILL)
    new_worker = _until(
        lambda: (p := supervised.running("worker")) and p != worker and p, 60, "a new worker"
    )
    assert supervised.pid("web") == web  # the web server was not taken down
    assert supervised.web_answers()
    assert "exited: worker (terminated by SIGKILL; not expected)" in supervised.logged()
    assert supervised.pid("beat") == beat and supervised.beats() == [beat]  # still one beat

    os.kill(beat, signal.SIGKILL)
    new_beat = _until(
        lambda: (p := supervised.running("beat")) and p != beat and p, 60, "a new beat"
    )
    assert supervised.beats() == [new_beat]
    assert supervised.pid("worker") == new_worker

    os.kill(web, signal.SIGKILL)
    _until(lambda: (p := supervised.running("web")) and p != web, 60, "a new web server")
    _until(supervised.web_answers, 60, "gunicorn answering again")
    assert supervised.pid("worker") == new_worker
    assert "exited: web (terminated by SIGKILL; not expected)" in supervised.logged()

    supervised.stop()  # Ctrl-C of make run: all stop
    assert supervised.proc.returncode == 0
    for pid in (new_worker, new_beat):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert supervised.beats() == []
    assert not supervised.web_answers()
