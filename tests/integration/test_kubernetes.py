"""The Kubernetes deployment as written: deploy/kubernetes/, validated offline and read for an operator's promises.

No cluster runs here. kubernetes-validate (PyPI) ships the API's JSON schemas, so every manifest is checked
against them in strict mode (an unknown or misspelt field fails) for the oldest and the newest Kubernetes
release we claim; kustomize is not needed, because every file is plain YAML that `kubectl apply -f` takes.
The other tests read the manifests for what docs/KUBERNETES.md and the README promise: probes on real
routes, pods without privileges, memory from the measured figures, exactly one scheduler of periodic
tasks, secrets only from the Secret, TLS on the Ingress, and the migration before the rollout. Two run
the manifests' shell commands for real (the consumers' liveness probe, the wait for migrations).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_schemas

from app import create_app
from app.config import Settings, config_for_tests
from app.db_types import utcnow
from app.extensions import db
from app.ops.metrics import PREFIX
from app.ops.workers import WorkerIdentity, remove_heartbeat, write_heartbeat
from tests.support.services import libpq_url

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "deploy" / "kubernetes"
VENV_BIN = ROOT / ".venv" / "bin"
# The oldest release we claim (autoscaling/v2, policy/v1 and batch/v1 Job TTLs are all GA well before it) and
# the newest the validator ships.
KUBERNETES_VERSIONS = ("1.29", kubernetes_schemas.major_minor(kubernetes_schemas.latest_version()))
SECRET_NAME = "quartermaster-secrets"
CONFIG_NAME = "quartermaster-config"
# Settings that must never be written into a manifest: they live in the Secret.
SECRET_SETTINGS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "QM_METRICS_TOKEN",
    "QM_ADMIN_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
}
REQUIRED_SECRETS = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
# What deploy/kubernetes/measure_memory.py measured (MiB, peak PSS of the pod's processes; docs/KUBERNETES.md).
# The higher of two runs; the init container's two `flask` commands measured as the migration's RSS.
MEASURED_PEAK_MIB = {"web": 279, "worker": 1605, "scheduler": 1593, "migrate": 183, "wait-for-migrations": 199}
# A retrain of 50,000 reviewed documents beside one OCR (docs/PERFORMANCE.md): what a consumer must also hold.
RETRAIN_BESIDE_OCR_MIB = 1676 + 1004
QUANTITY = re.compile(r"^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti)?$")
UNITS = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024, "": 1 / (1024 * 1024)}


# ---------------------------------------------------------------- reading the folder


def _manifest_files() -> list[Path]:
    return sorted(p for p in FOLDER.rglob("*.yaml") if p.name != "kustomization.yaml")


def _documents() -> list[tuple[Path, dict]]:
    found = []
    for path in _manifest_files():
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path, document))
    return found


DOCUMENTS = _documents()


def _of_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in DOCUMENTS if doc["kind"] == kind}


def _pod_templates() -> dict[str, dict]:
    """Every pod the manifests start, by its workload's name: the Deployments' and the Job's templates."""
    return {name: doc["spec"]["template"] for kind in ("Deployment", "Job") for name, doc in _of_kind(kind).items()}


def _containers(pod: dict) -> list[dict]:
    return [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]


def _main(pod: dict) -> dict:
    (container,) = pod["spec"]["containers"]
    return container


def _mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)?", str(quantity)).groups()
    return float(number) * UNITS[unit or ""]


def _command(container: dict) -> str:
    return " ".join(container.get("command", []) + container.get("args", []))


def _configmap() -> dict[str, str]:
    return _of_kind("ConfigMap")[CONFIG_NAME]["data"]


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _probe_environ(tmp_path: Path, database_url: str) -> dict[str, str]:
    """What a pod's shell sees: the ConfigMap, the Secret's required keys, this machine's scratch folders.

    The blob store and the search backend stay the embedded ones here: no S3 server is needed to check
    that the app starts and answers with the rest of the ConfigMap's settings.
    """
    (tmp_path / "prometheus").mkdir(exist_ok=True)
    return {
        **_configmap(),
        "QM_BLOB_STORE": "local",
        "QM_SEARCH_BACKEND": "whoosh",
        "SECRET_KEY": "a-test-secret-of-enough-length-0123456789",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "PATH": f"{VENV_BIN}:/usr/lib/postgresql/15/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
    }


# ---------------------------------------------------------------- the schemas and the kustomizations


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(version: str):
    assert len(DOCUMENTS) >= 14, "the manifests were not found"
    failures = []
    for path, document in DOCUMENTS:
        try:
            kubernetes_schemas.validate(document, version, strict=True)
        except kubernetes_schemas.ValidationError as error:
            failures.append(f"{path.relative_to(ROOT)}: {'.'.join(map(str, error.path))}: {error.message}")
        except kubernetes_schemas.SchemaNotFoundError as error:
            failures.append(f"{path.relative_to(ROOT)}: {error.message}")
    assert not failures, "\n".join(failures)


def test_the_schema_check_catches_a_misspelt_field():
    # Strict mode is what makes the test above worth having: a typo must fail, not be ignored.
    deployment = yaml.safe_load((FOLDER / "web-deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbes"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_schemas.ValidationError, match="readinesProbes"):
        kubernetes_schemas.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("folder", ["", "migrate"])
def test_each_kustomization_lists_every_manifest_beside_it(folder: str):
    here = FOLDER / folder
    kustomization = yaml.safe_load((here / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    beside = sorted(p.name for p in here.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == beside
    assert len(listed) == len(set(listed))
    # Its image entries name images the manifests use, so `kustomize edit set image` reaches them.
    used = {
        container["image"].rsplit(":", 1)[0]
        for path, doc in DOCUMENTS
        if path.parent == here and doc["kind"] in ("Deployment", "Job")
        for container in _containers(doc["spec"]["template"])
    }
    assert {entry["name"] for entry in kustomization["images"]} == used


def test_the_migration_runs_the_release_the_web_pods_run():
    images = {
        entry["name"]: entry["newTag"]
        for folder in ("", "migrate")
        for entry in yaml.safe_load((FOLDER / folder / "kustomization.yaml").read_text())["images"]
    }
    web = _main(_pod_templates()["quartermaster-web"])["image"]
    job = _main(_pod_templates()["quartermaster-migrate"])["image"]
    assert web == job
    assert web.endswith(":" + images[web.rsplit(":", 1)[0]])


def test_every_resource_lives_in_the_namespace_it_creates():
    (namespace,) = _of_kind("Namespace")
    assert all(doc["metadata"].get("namespace") == namespace for _, doc in DOCUMENTS if doc["kind"] != "Namespace")


def test_no_file_carries_a_secret():
    # The Secret is created by hand (README); a manifest with one would put credentials into git.
    assert not _of_kind("Secret")


# ---------------------------------------------------------------- web


def test_web_probes_ask_the_apps_health_routes_on_its_port(tmp_path: Path):
    web = _main(_pod_templates()["quartermaster-web"])
    assert "gunicorn --config gunicorn.conf.py wsgi:app" in _command(web)
    port = {p["name"]: p["containerPort"] for p in web["ports"]}["http"]
    env = {e["name"]: e.get("value") for e in web.get("env", [])}
    assert env["GUNICORN_BIND"] == f"0.0.0.0:{port}"  # not the default 127.0.0.1, which no probe could reach
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert web[probe]["httpGet"]["port"] in ("http", port)

    # The routes answer as the probes ask: from the pod's own address (the kubelet's Host), with the
    # ConfigMap's settings; /readyz says 200 while the database, the queue and the storage answer.
    environ = _probe_environ(tmp_path, f"sqlite:///{tmp_path / 'qm.db'}")
    settings = Settings.from_env(environ)
    config = {
        **config_for_tests(tmp_path, environ["DATABASE_URL"]),
        "TRUSTED_HOSTS": settings.flask_config()["TRUSTED_HOSTS"],
    }
    app = create_app(config)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    for path in ("/healthz", "/readyz"):
        response = client.get(path, base_url=f"http://10.42.3.17:{port}")
        assert response.status_code == 200, (path, response.data)


def test_web_scales_on_cpu_from_two_pods_and_keeps_one_through_drains():
    hpa = _of_kind("HorizontalPodAutoscaler")["quartermaster-web"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "quartermaster-web"}
    assert hpa["spec"]["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    deployment = _of_kind("Deployment")["quartermaster-web"]
    assert "replicas" not in deployment["spec"], "applying the file would reset what the HPA chose"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pdb = _of_kind("PodDisruptionBudget")["quartermaster-web"]
    assert 1 <= pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]


def test_the_ingress_serves_https_for_every_host_it_routes():
    (ingress,) = _of_kind("Ingress").values()
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
    assert hosts
    assert hosts <= tls_hosts
    assert all(entry["secretName"] for entry in ingress["spec"]["tls"])
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    # Just above the app's own limit, so people see the app's 413 page rather than the controller's.
    body_mb = int(annotations["nginx.ingress.kubernetes.io/proxy-body-size"].removesuffix("m"))
    assert int(_configmap()["QM_MAX_UPLOAD_MB"]) < body_mb <= int(_configmap()["QM_MAX_UPLOAD_MB"]) + 2
    # The public host is also where links in emails point.
    assert _configmap()["QM_BASE_URL"] in {f"https://{host}" for host in hosts}
    service = _of_kind("Service")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["port"]["name"] in {p["name"] for p in service[backend["name"]]["spec"]["ports"]}


def test_services_and_budgets_select_pods_that_exist_and_name_their_ports():
    pods = _pod_templates()
    for name, service in _of_kind("Service").items():
        selector = service["spec"]["selector"]
        matched = [pod for pod in pods.values() if selector.items() <= pod["metadata"]["labels"].items()]
        assert matched, f"Service {name} selects no pod"
        for port in service["spec"]["ports"]:
            for pod in matched:
                assert port["targetPort"] in {p["name"] for p in _main(pod).get("ports", [])}, (name, port)
    for name, pdb in _of_kind("PodDisruptionBudget").items():
        labels = pdb["spec"]["selector"]["matchLabels"]
        assert [n for n, pod in pods.items() if labels.items() <= pod["metadata"]["labels"].items()] == [name], name


# ---------------------------------------------------------------- the queue consumers


def test_exactly_one_consumer_schedules_periodic_tasks():
    pods = _pod_templates()
    consumers = {name: _main(pod) for name, pod in pods.items() if "huey_consumer" in _command(_main(pod))}
    assert set(consumers) == {"quartermaster-worker", "quartermaster-scheduler"}
    schedulers = [name for name, container in consumers.items() if "--no-periodic" not in container["command"]]
    assert schedulers == ["quartermaster-scheduler"]
    scheduler = _of_kind("Deployment")["quartermaster-scheduler"]
    assert scheduler["spec"]["replicas"] == 1
    # Recreate: a rollout stops the old scheduler before it starts the new one (never two at once).
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
    scaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in _of_kind("HorizontalPodAutoscaler").values()}
    assert "quartermaster-scheduler" not in scaled
    assert "quartermaster-scheduler" not in _of_kind("PodDisruptionBudget")
    for name, container in consumers.items():
        # The worker image: any consumer may be handed a retrain, which needs the training libraries.
        assert "/worker:" in container["image"], name
        # The runtime sends the image's STOPSIGNAL (SIGINT: finish the task in hand); a --graceful-signal
        # TERM here would make that same SIGINT the signal that drops it.
        assert not {"--graceful-signal", "-g"} & set(container["command"]), name
        assert pods[name]["spec"]["terminationGracePeriodSeconds"] >= 60, name
        assert pods[name]["metadata"]["labels"]["quartermaster/queue-consumer"] == "true"
    assert re.search(r"^STOPSIGNAL SIGINT$", _dockerfile(), re.MULTILINE)


def test_workers_scale_by_the_queue_depth_the_app_publishes():
    hpa = _of_kind("HorizontalPodAutoscaler")["quartermaster-worker"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "quartermaster-worker"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"]["name"] == f"{PREFIX}_queue_depth"
    assert metric["external"]["target"]["type"] == "AverageValue"
    assert "replicas" not in _of_kind("Deployment")["quartermaster-worker"]["spec"]
    assert _of_kind("PodDisruptionBudget")["quartermaster-worker"]["spec"]["maxUnavailable"] == 1


def test_consumer_liveness_probe_follows_this_pods_heartbeat(postgres_url: str, tmp_path: Path):
    # The image's HEALTHCHECK as an exec probe: alive while the consumer in this pod (its hostname, which
    # is the pod's name) beat within three intervals. Run here as the kubelet would, in the pod's shell.
    pods = _pod_templates()
    commands = {
        _main(pods[name])["livenessProbe"]["exec"]["command"][-1]
        for name in ("quartermaster-worker", "quartermaster-scheduler")
    }
    (check,) = commands
    assert " ".join(check.split()) in " ".join(_dockerfile().replace("\\\n", " ").split())
    app = create_app(config_for_tests(tmp_path, postgres_url))
    identity = WorkerIdentity("quartermaster-worker-7d9f-x2x4q", 1, "quartermaster", False, 2, "process", utcnow())

    def alive(host: str) -> bool:
        env = {**_probe_environ(tmp_path, libpq_url(postgres_url)), "HOSTNAME": host}
        return subprocess.run(["sh", "-c", check], env=env, check=False, timeout=30).returncode == 0

    with app.app_context():
        try:
            assert not alive(identity.host)
            write_heartbeat(identity)
            assert alive(identity.host)
            assert not alive("quartermaster-worker-7d9f-other")
            write_heartbeat(identity, now=utcnow() - timedelta(seconds=3 * 30 + 5))
            assert not alive(identity.host)
        finally:
            remove_heartbeat(identity.name)
            db.engine.dispose()


# ---------------------------------------------------------------- migrations before the rollout


def test_the_migration_job_applies_the_schema_once_per_release():
    job = _of_kind("Job")["quartermaster-migrate"]
    container = _main(job["spec"]["template"])
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    assert (
        container["command"] == compose["services"]["migrate"]["command"] == ["flask", "--app", "wsgi", "db", "upgrade"]
    )
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] <= 3
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    # Not part of the app's kustomization: `kubectl apply -k` of a new release would fail on the Job's
    # immutable template; it is applied on its own first (README, docs/KUBERNETES.md).
    assert "migrate/job.yaml" not in yaml.safe_load((FOLDER / "kustomization.yaml").read_text())["resources"]


def test_every_long_running_pod_waits_for_its_releases_schema():
    for name, pod in _pod_templates().items():
        if name == "quartermaster-migrate":
            continue
        (wait,) = pod["spec"]["initContainers"]
        assert wait["name"] == "wait-for-migrations"
        assert wait["image"] == _main(pod)["image"], name  # the same release's migrations
        assert "db heads" in _command(wait)
        assert "db current" in _command(wait)


@pytest.mark.timeout(420)  # two `flask` commands; slow only on a loaded machine
def test_the_wait_for_migrations_lets_a_pod_start_once_the_schema_is_at_head(postgres_url: str, tmp_path: Path):
    # postgres_url is migrated to head, as after the Job: the init container's command must finish.
    wait = _pod_templates()["quartermaster-web"]["spec"]["initContainers"][0]
    env = _probe_environ(tmp_path, libpq_url(postgres_url))
    result = subprocess.run(
        wait["command"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=400, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting" not in result.stdout


@pytest.mark.timeout(420)  # as above
def test_the_wait_for_migrations_holds_a_pod_while_the_schema_is_behind(tmp_path: Path):
    # An empty database, as before the first Job: the init container keeps waiting, saying for what.
    wait = _pod_templates()["quartermaster-web"]["spec"]["initContainers"][0]
    env = _probe_environ(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    process = subprocess.Popen(
        wait["command"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the `sleep` and any `flask` stop with it
    )
    try:
        first = process.stdout.readline()  # after `db heads` and the first `db current`
        assert re.fullmatch(r"waiting for the migration Job to apply \d{4} \(head\)\n", first), first
        assert process.poll() is None, "it gave up instead of waiting"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()


# ---------------------------------------------------------------- security, resources, settings


def test_every_pod_runs_as_the_images_user_without_privileges():
    uid = re.search(r"useradd [^\n]*--uid (\d+)", _dockerfile()).group(1)
    # Where the app writes: DATA_DIR, /tmp (uploads being received, pages rendered) and the metrics folder
    # the image sets; with a read-only root file system each must be a volume of the pod.
    metrics_dir = re.search(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", _dockerfile()).group(1)
    writable = {_configmap()["DATA_DIR"], "/tmp", metrics_dir}  # noqa: S108  (the container's, not ours)
    for name, pod in _pod_templates().items():
        spec = pod["spec"]
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert (str(context["runAsUser"]), str(context["runAsGroup"])) == (uid, uid), name
        assert context["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in _containers(pod):
            own = container["securityContext"]
            assert own["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert own["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert own["capabilities"]["drop"] == ["ALL"], (name, container["name"])
            assert not {"privileged", "runAsUser"} & set(own), (name, container["name"])
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert writable <= set(mounts), (name, container["name"], writable - set(mounts))
            assert all("emptyDir" in volumes[mounts[path]] for path in writable), (name, container["name"])
    assert (
        _of_kind("Namespace")["quartermaster"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )


def test_every_container_asks_for_the_memory_it_was_measured_to_use():
    for name, pod in _pod_templates().items():
        for container in _containers(pod):
            resources = container["resources"]
            for field in ("requests", "limits"):
                for quantity in resources[field].values():
                    assert QUANTITY.fullmatch(str(quantity)), (name, container["name"], quantity)
            assert resources["requests"]["cpu"], (name, container["name"])
            request, limit = _mib(resources["requests"]["memory"]), _mib(resources["limits"]["memory"])
            measured = MEASURED_PEAK_MIB[container["name"]]
            assert request <= limit, (name, container["name"])
            # Headroom over the measured peak: at least a quarter, or an OOM kill is one busy day away.
            assert limit >= 1.25 * measured, (name, container["name"], limit, measured)
            if container["name"] in ("worker", "scheduler"):
                assert limit >= 1.1 * RETRAIN_BESIDE_OCR_MIB, "a retrain beside an OCR would be killed"
                assert request >= measured, "the scheduler would place pods that cannot OCR side by side"


def test_the_blob_cache_fits_the_pods_scratch_volume_with_uploads_in_flight():
    # A pod whose emptyDir outgrows its sizeLimit is evicted: the cache's bound, plus every upload gunicorn
    # may be receiving at once (each spooled under DATA_DIR/cache while it is hashed), must fit.
    config = _configmap()
    in_flight = int(config["WEB_CONCURRENCY"]) * int(config["WEB_THREADS"]) * int(config["QM_MAX_UPLOAD_MB"])
    for name, pod in _pod_templates().items():
        if name == "quartermaster-migrate":
            continue
        mounts = {m["mountPath"]: m["name"] for m in _main(pod)["volumeMounts"]}
        volume = {v["name"]: v for v in pod["spec"]["volumes"]}[mounts[config["DATA_DIR"]]]
        room = _mib(volume["emptyDir"]["sizeLimit"])
        assert room >= int(config["QM_BLOB_CACHE_MB"]) + in_flight + 256, (name, room)


def test_secrets_come_from_the_secret_and_never_from_a_literal_value():
    config = _configmap()
    assert not SECRET_SETTINGS & set(config), "a secret in the ConfigMap"
    for name, pod in _pod_templates().items():
        for container in _containers(pod):
            sources = container.get("envFrom", [])
            assert {"secretRef": {"name": SECRET_NAME}} in sources, (name, container["name"])
            assert {"configMapRef": {"name": CONFIG_NAME}} in sources, (name, container["name"])
            for variable in container.get("env", []):
                if variable["name"] in SECRET_SETTINGS:
                    assert "value" not in variable, (name, variable["name"])
                    assert variable["valueFrom"]["secretKeyRef"]["name"] == SECRET_NAME
    # The README's command creates the Secret with every key the app cannot start without.
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"create secret generic quartermaster-secrets.*?(?=\n```)", readme, re.DOTALL)
    assert command, "README does not say how to create the Secret"
    for key in REQUIRED_SECRETS:
        assert f"--from-literal={key}=" in command.group(0), key


def test_the_configmap_is_a_valid_production_configuration_for_many_nodes(tmp_path: Path):
    config = _configmap()
    # Nothing a request or a task needs may live on one pod's disk: the shared engines, not the embedded ones.
    assert config["QM_BLOB_STORE"] == "s3"
    assert config["QM_SEARCH_BACKEND"] == "postgres"
    assert config["S3_BUCKET"]
    settings = Settings.from_env({**config, "SECRET_KEY": "a-test-secret-of-enough-length-0123456789"})
    assert settings.env == "production"
    assert settings.cookie_secure
    assert settings.proxy_hops == 1  # the Ingress controller, exactly
    assert settings.trusted_hosts == ()  # any Host: the Ingress routes only its own, probes come by address
    assert str(settings.data_dir) == config["DATA_DIR"]


def test_every_configmap_setting_is_one_the_app_reads():
    read = set()
    for path in [ROOT / "gunicorn.conf.py", *sorted((ROOT / "app").rglob("*.py"))]:
        read |= set(re.findall(r"environ(?:\.get\(|\[|, )[\"']([A-Z][A-Z0-9_]*)[\"']", path.read_text()))
    # boto3 reads the AWS_* names itself (credentials and region "from the environment").
    unknown = {name for name in _configmap() if name not in read and not name.startswith("AWS_")}
    assert not unknown, f"the ConfigMap sets {sorted(unknown)}, which nothing reads (misspelt?)"


def test_the_figures_are_documented_with_the_script_that_measured_them():
    docs = (ROOT / "docs" / "KUBERNETES.md").read_text()
    assert (FOLDER / "measure_memory.py").exists()
    assert "deploy/kubernetes/measure_memory.py" in docs
    for figure in MEASURED_PEAK_MIB.values():
        assert f"{figure:,} MiB" in docs, figure
