"""docker-compose.yml as `docker-compose config` resolves it (issue #13 part 6): a worker
service that scales, one beat, and a MinIO store wired to ``LABBOOK_STORES`` whose bucket
the ``minio-init`` service creates before web and workers start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline_core.datamodel.stores.config import StoreConfig

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def _compose_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    """``docker-compose config`` with ``env`` over an environment without LabBook's,
    MinIO's and the secret key's variables."""
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is not installed (make test installs it)")
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LABBOOK_", "MINIO_")) and k != "SECRET_KEY"
    }
    return subprocess.run(
        ["docker-compose", "config"],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def _config(**env: str) -> dict:
    """The resolved compose file, with ``env`` (and a secret key) set."""
    out = _compose_config({"SECRET_KEY": "test-secret", **env})
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_no_default_secret_key():
    """Compose refuses to start without SECRET_KEY, naming it (issue #15 part 4)."""
    out = _compose_config({})
    assert out.returncode != 0
    assert "SECRET_KEY" in out.stderr
    services = _config(SECRET_KEY="s3cret-from-env")["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["SECRET_KEY"] == "s3cret-from-env"


def test_worker_scales_and_one_beat_runs_recovery():
    services = _config()["services"]
    worker = services["worker"]
    # --scale worker=N needs no fixed name and no published port
    assert "container_name" not in worker and "ports" not in worker
    assert "worker" in " ".join(worker["command"])
    assert "beat" in services["beat"]["command"]


def test_stores_name_the_minio_service_and_the_bucket_minio_init_creates():
    config = _config(MINIO_BUCKET="lab-data")
    services = config["services"]
    for name in ("web", "worker", "beat"):
        stores = StoreConfig(json.loads(services[name]["environment"]["LABBOOK_STORES"]))
        spec = stores.spec(None)  # the default store
        assert spec.protocol == "s3"
        assert spec.endpoint.split(":")[0] == "minio" and "minio" in services
        assert spec.bucket == "lab-data"
        assert spec.secure is False  # MinIO on the compose network speaks http
        env = services[name]["environment"]
        assert env["AWS_ACCESS_KEY_ID"] == services["minio"]["environment"]["MINIO_ROOT_USER"]
    init = services["minio-init"]
    assert init["environment"]["MINIO_BUCKET"] == "lab-data"
    assert "mc mb" in " ".join(init["entrypoint"])
    for name in ("web", "worker"):
        condition = services[name]["depends_on"]["minio-init"]["condition"]
        assert condition == "service_completed_successfully"
