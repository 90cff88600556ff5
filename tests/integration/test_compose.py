"""The container deployment as written: docker-compose.yaml, the Dockerfile and .env.example.

No Docker engine runs here, so nothing is built or started: Debian's `docker-compose` (1.29) validates
and resolves the compose file offline, and the tests read what it resolved, the Dockerfile's text and
the example settings for the promises README "Deploying" makes an operator.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from app import create_app
from app.config import ConfigError, Settings, config_for_tests
from app.db_types import utcnow
from app.extensions import db
from app.ops.workers import WorkerIdentity, remove_heartbeat, write_heartbeat
from tests.support.services import libpq_url

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
TEMPLATE = ROOT / "nginx" / "quartermaster.conf.template"
SECRETS = {"SECRET_KEY": "a-test-secret-of-enough-length-0123456789", "POSTGRES_PASSWORD": "0123456789abcdef"}
CONSUMERS = ("worker", "worker-extra")
APP_SERVICES = ("web", *CONSUMERS)
NGINX_VARIABLES = {
    "NGINX_PUBLIC_HTTPS_PORT",
    "NGINX_SERVER_NAME",
    "NGINX_HTTP_PORT",
    "NGINX_HTTPS_PORT",
    "NGINX_UPSTREAM",
    "NGINX_CERT_DIR",
    "NGINX_STATIC_ROOT",
    "NGINX_MAX_BODY",
}
COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake|[\w.+-]+-dev)\b")


# ---------------------------------------------------------------- helpers


def _compose(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """docker-compose in `project`, with only PATH from this process: no stray setting leaks in."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is missing: `make system-tools` installs Debian's package")
    environ = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(project), **(env or {})}
    return subprocess.run(
        [binary, "-f", "docker-compose.yaml", "--profile", "extra-workers", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _example_lines() -> dict[str, str]:
    """The settings .env.example sets (uncommented KEY=value lines)."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def _example_names() -> set[str]:
    """Every name .env.example mentions as KEY=, set or commented out."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))


def _settings_read() -> set[str]:
    """The environment names Settings.from_env, bootstrap_admin and gunicorn.conf.py read."""
    names = set()
    for path in (ROOT / "app" / "config.py", ROOT / "gunicorn.conf.py"):
        names |= set(re.findall(r"environ(?:\.get\(|, )[\"']([A-Z][A-Z0-9_]*)[\"']", path.read_text()))
    return names


class Stage:
    def __init__(self, base: str, name: str) -> None:
        self.base, self.name, self.instructions = base, name, []


def _dockerfile_stages() -> dict[str, Stage]:
    """The Dockerfile's stages by name: continuation lines joined, comments dropped, FROM's ARGs resolved."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", (ROOT / "Dockerfile").read_text())
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and current is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            base, _, name = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), rest).partition(" AS ")
            current = stages[name.strip()] = Stage(base.strip(), name.strip())
        elif current is not None:
            current.instructions.append((keyword, rest))
    return stages


def _lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """A stage and the stages it is built FROM, nearest first."""
    chain = [stages[name]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain


def _last(chain: list[Stage], keyword: str) -> str | None:
    for stage in chain:
        for found, rest in reversed(stage.instructions):
            if found == keyword:
                return rest
    return None


def _command_text(command: object) -> str:
    return " ".join(command) if isinstance(command, list) else str(command or "")


# ---------------------------------------------------------------- the compose file


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compose file beside an .env copied from .env.example, as README's first step makes it."""
    folder = tmp_path_factory.mktemp("compose")
    shutil.copy(COMPOSE_FILE, folder / "docker-compose.yaml")
    shutil.copy(ENV_EXAMPLE, folder / ".env")
    return folder


@pytest.fixture(scope="module")
def resolved(project: Path) -> dict:
    """The compose file as docker-compose resolves it (anchors merged, .env applied), with the secrets given."""
    result = _compose(project, "config", env=SECRETS)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def services(resolved: dict) -> dict[str, dict]:
    return resolved["services"]


def test_compose_file_validates(project: Path):
    result = _compose(project, "config", "-q", env=SECRETS)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_while_a_secret_is_empty(project: Path, missing: str):
    # .env.example ships them empty: copying it without filling them in must stop compose, naming the gap.
    given = {name: value for name, value in SECRETS.items() if name != missing}
    result = _compose(project, "config", "-q", env=given)
    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


def test_every_long_running_service_reports_its_health(services: dict[str, dict]):
    assert set(services) == {"nginx", "migrate", "web", "worker", "worker-extra", "postgres", "redis"}
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if name == "migrate":
            assert check.get("test") == ["NONE"] or check.get("disable"), "the one-shot needs no health check"
            continue
        assert check.get("test"), f"{name} has no health check"
        assert check["test"] != ["NONE"], f"{name} turns its health check off"
    assert "/healthz" in _command_text(services["web"]["healthcheck"]["test"])
    for name in CONSUMERS:
        assert "worker_heartbeats" in _command_text(services[name]["healthcheck"]["test"])


def test_web_and_workers_start_after_migrations_and_healthy_stores(services: dict[str, dict]):
    for name in APP_SERVICES:
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name
    assert services["nginx"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    migrate = services["migrate"]
    assert _command_text(migrate["command"]) == "flask --app wsgi db upgrade"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_migrations_are_not_in_the_web_start_command(services: dict[str, dict]):
    stages = _dockerfile_stages()
    for command in (_command_text(services["web"]["command"]), _last(_lineage(stages, "web"), "CMD")):
        assert "gunicorn" in command
        assert "upgrade" not in command
        assert "gunicorn.conf.py" in command


def test_only_nginx_publishes_ports(services: dict[str, dict]):
    # /metrics and the detailed /readyz are for the internal network: web has no published port.
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}
    ports = {(str(p["target"]), str(p["published"])) if isinstance(p, dict) else p for p in services["nginx"]["ports"]}
    assert ports == {("80", "80"), ("443", "443")} or ports == {"80:80", "443:443"}


def test_exactly_one_consumer_schedules_periodic_tasks(services: dict[str, dict]):
    consumers = {name for name, s in services.items() if "huey_consumer" in _command_text(s.get("command"))}
    assert consumers == set(CONSUMERS)
    assert "--no-periodic" not in services["worker"]["command"]
    assert "--no-periodic" in services["worker-extra"]["command"]
    assert "extra-workers" in services["worker-extra"]["profiles"]
    for name in consumers:
        assert services[name]["stop_signal"] == "SIGINT", f"{name} would drop the task in hand"
        assert "container_name" not in services[name]


def test_worker_health_check_follows_this_containers_heartbeat(
    services: dict[str, dict], postgres_url: str, tmp_path: Path
):
    # The same check in the image and in compose (where $$ stands for $): healthy while the consumer in
    # this container (its hostname) beat within three intervals, like Admin > System's "running".
    image_check = _last(_lineage(_dockerfile_stages(), "worker"), "HEALTHCHECK").split(" CMD ", 1)[1]
    compose_check = _command_text(services["worker"]["healthcheck"]["test"]).replace("$$", "$")
    app = create_app(config_for_tests(tmp_path, postgres_url))
    identity = WorkerIdentity("qm-compose-test", 1, "quartermaster", True, 2, "process", utcnow())

    def healthy(host: str) -> list[bool]:
        env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": libpq_url(postgres_url), "HOSTNAME": host}
        runs = [subprocess.run(["sh", "-c", check], env=env, check=False) for check in (image_check, compose_check)]
        return [run.returncode == 0 for run in runs]

    with app.app_context():
        try:
            assert healthy(identity.host) == [False, False]  # not beating yet
            write_heartbeat(identity)
            assert healthy(identity.host) == [True, True]
            assert healthy("another-container") == [False, False]
            write_heartbeat(identity, now=utcnow() - timedelta(seconds=3 * 30 + 5))  # three beats missed
            assert healthy(identity.host) == [False, False]
        finally:
            remove_heartbeat(identity.name)
            db.engine.dispose()


def test_app_services_share_the_data_volume_and_run_in_production_mode(resolved: dict, services: dict[str, dict]):
    assert {"app-data", "postgres-data", "redis-data"} <= set(resolved["volumes"])
    example = _example_lines()
    for name in APP_SERVICES:
        service = services[name]
        assert any(v.startswith("app-data:/data") for v in service["volumes"]), name
        env = service["environment"]
        assert env["QM_ENV"] == "production"
        assert env["QM_PROXY_HOPS"] == "1"
        assert env["QM_COOKIE_SECURE"] == "1"
        assert env["QM_TRUSTED_HOSTS"] == example["QM_TRUSTED_HOSTS"]
        assert env["DATABASE_URL"].startswith("postgresql://quartermaster:")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
    assert services["web"]["build"]["target"] == "web"
    assert services["migrate"]["image"] == services["web"]["image"]
    assert {services[name]["build"]["target"] for name in CONSUMERS} == {"worker"}
    assert any(v.startswith("postgres-data:/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert any(v.startswith("redis-data:/data") for v in services["redis"]["volumes"])


def test_nginx_is_the_proxy_image_rendering_the_project_template(services: dict[str, dict]):
    nginx = services["nginx"]
    assert nginx["build"]["target"] == "proxy"
    env = nginx["environment"]
    assert set(env) >= NGINX_VARIABLES
    assert env["NGINX_UPSTREAM"] == "web:8000"
    assert env["NGINX_SERVER_NAME"] == _example_lines()["NGINX_SERVER_NAME"]
    assert any(v.endswith(f":{env['NGINX_CERT_DIR']}:ro") and "nginx/certs" in v for v in nginx["volumes"])

    proxy = _dockerfile_stages()["proxy"]
    assert re.fullmatch(r"nginx:(stable|1\.(2[89]|[3-9]\d))(\.\d+)?(-alpine)?", proxy.base), (
        f"{proxy.base} is not a supported nginx line"
    )
    copies = [rest for keyword, rest in proxy.instructions if keyword == "COPY"]
    assert "nginx/quartermaster.conf.template /etc/nginx/templates/quartermaster.conf.template" in copies
    assert f"static/ {env['NGINX_STATIC_ROOT']}/" in copies
    # envsubst leaves an unset ${VAR} as it is, and nginx then fails to start: compose must set every one.
    assert TEMPLATE.exists(), "nginx/quartermaster.conf.template is missing"
    used = set(re.findall(r"\$\{(NGINX_[A-Z_]+)\}", TEMPLATE.read_text()))
    assert used, "the template uses none of the NGINX_* variables"
    assert used <= set(env), f"compose does not set {sorted(used - set(env))}"


# ---------------------------------------------------------------- the Dockerfile


def test_runtime_images_have_no_compilers_and_run_as_a_user():
    stages = _dockerfile_stages()
    for target in ("web", "worker"):
        chain = _lineage(stages, target)
        names = [stage.name for stage in chain]
        assert "builder" not in names
        for stage in chain:
            for keyword, rest in stage.instructions:
                if keyword == "RUN":
                    assert not COMPILERS.search(rest), f"{stage.name} installs a compiler: {rest}"
                    if "pip install" in rest:
                        assert "--no-index" in rest, f"{stage.name} installs from an index, not the wheels"
        user = _last(chain, "USER")
        assert user, f"{target} runs as root"
        assert user.split(":")[0] not in {"root", "0"}, target
        assert _last(chain, "HEALTHCHECK"), target
    # The builder is where the compilers are, which shows the check above can see them.
    assert COMPILERS.search(" ".join(rest for _, rest in stages["builder"].instructions))


def test_only_the_worker_image_carries_the_training_libraries():
    stages = _dockerfile_stages()

    def installed(target: str) -> str:
        return " ".join(
            rest for s in _lineage(stages, target) for k, rest in s.instructions if k == "RUN" and "pip install" in rest
        )

    assert "requirements.txt" in installed("web")
    assert "requirements-train.txt" not in installed("web")
    assert "requirements-train.txt" in installed("worker")
    assert _last(_lineage(stages, "worker"), "STOPSIGNAL") == "SIGINT"
    assert "/healthz" in _last(_lineage(stages, "web"), "HEALTHCHECK")


@pytest.mark.parametrize("target", ["web", "worker"])
def test_metrics_folder_is_per_container_and_made_before_any_process_starts(target: str):
    # On the shared /data volume, two containers' processes (pids restart at 1) would write the same files;
    # a folder that does not exist yet makes every `flask` command in the image fail (migrate first).
    chain = _lineage(_dockerfile_stages(), target)
    env = " ".join(rest for stage in chain for keyword, rest in stage.instructions if keyword == "ENV")
    folder = re.search(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", env).group(1)
    assert not folder.startswith("/data")
    assert any(keyword == "RUN" and folder in rest for stage in chain for keyword, rest in stage.instructions)


def test_worker_containers_serve_their_figures_on_the_internal_network(services: dict[str, dict]):
    chain = _lineage(_dockerfile_stages(), "worker")
    env = " ".join(rest for stage in chain for keyword, rest in stage.instructions if keyword == "ENV")
    port = re.search(r"QM_WORKER_METRICS_PORT=(\d+)", env).group(1)
    for name in ("worker", "worker-extra"):
        assert port in [str(p) for p in services[name].get("expose", [])], name
        assert not services[name].get("ports"), name


def test_backup_client_matches_the_postgres_server(services: dict[str, dict]):
    # pg_dump refuses a server newer than itself: the image's client and the compose server share a major.
    server_major = re.fullmatch(r"postgres:(\d+)(\..*)?", services["postgres"]["image"]).group(1)
    runtime = " ".join(rest for _, rest in _dockerfile_stages()["runtime"].instructions)
    assert f"postgresql-client-{server_major}" in runtime


def test_build_context_keeps_secrets_out_and_what_the_dockerfile_copies_in():
    patterns = [
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]

    def ignored(path: str) -> bool:
        return any(fnmatch.fnmatch(path, p) or path.startswith(p + "/") for p in patterns)

    for secret in (".env", "nginx/certs/key.pem", ".git/config", ".venv/bin/python", "var/quartermaster.db"):
        assert ignored(secret), f"{secret} would be sent to the builder"
    sources = [
        source.rstrip("/")
        for stage in _dockerfile_stages().values()
        for keyword, rest in stage.instructions
        if keyword == "COPY" and not rest.startswith("--from")
        for source in rest.split()[:-1]
    ]
    assert "app" in sources
    assert "nginx/quartermaster.conf.template" in sources
    for source in sources:
        assert not ignored(source), f".dockerignore leaves out {source}, which the Dockerfile copies"


# ---------------------------------------------------------------- .env.example


def test_env_example_names_every_setting():
    read = _settings_read()
    assert {"SECRET_KEY", "DATABASE_URL", "QM_TRUSTED_HOSTS", "WEB_CONCURRENCY"} <= read  # the parse found them
    missing = read - _example_names()
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_values_are_valid_and_the_empty_secret_is_refused(tmp_path: Path):
    environ = {**_example_lines(), "QM_ENV": "production", "DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env(environ)
    settings = Settings.from_env({**environ, "SECRET_KEY": SECRETS["SECRET_KEY"]})
    assert settings.cookie_secure
    assert settings.base_url == f"https://{environ['NGINX_SERVER_NAME']}"
    # nginx's body limit sits just above the app's, so the app's own limit is the one that counts.
    nginx_mb = int(environ["NGINX_MAX_BODY"].removesuffix("m"))
    assert settings.max_upload_mb < nginx_mb <= settings.max_upload_mb + 2


def test_env_example_trusted_hosts_admit_the_site_and_the_internal_checks(tmp_path: Path):
    environ = {
        **_example_lines(),
        **SECRETS,
        "QM_ENV": "production",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'qm.db'}",
    }
    app = create_app(Settings.from_env(environ).flask_config())
    client = app.test_client()
    site = environ["NGINX_SERVER_NAME"]
    # The public name (through nginx), the health checks (127.0.0.1) and Prometheus (web:8000) get answers:
    # a name left out would make Flask refuse the container's own health check, and nothing would start.
    for base_url in (f"https://{site}", "http://127.0.0.1:8000", "http://web:8000"):
        assert client.get("/healthz", base_url=base_url).status_code == 200, base_url
    assert app.config["TRUSTED_HOSTS"] == [site, "web", "127.0.0.1"]
