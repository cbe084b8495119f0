#!/usr/bin/env python3
"""Checks the Kubernetes manifests in docs/examples.

Every docs/examples/*.yaml must be a Pod (v1) or a DaemonSet (apps/v1) whose
pod spec lists containers with a name and an image, and must carry the field
that its deployment variant depends on. The start of the file name gives the
variant:

  shared-pid      shareProcessNamespace: true
  native-sidecar  shareProcessNamespace: true and an init container with
                  restartPolicy: Always
  host-pid        hostPID: true

Every capability in securityContext.capabilities must be a Linux capability
name without the CAP_ prefix, as Kubernetes expects ("SYS_PTRACE").

The files in tests/manifests/invalid/ must each fail with the message given
on their first line ("# expect: <part of the message>"), so that a checker
that accepts everything fails this test.

Needs PyYAML (Debian: python3-yaml). Run:
  python3 tests/manifests/check_manifests.py [EXAMPLES_DIR]
"""

import glob
import os
import re
import sys
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES_DIR = os.path.join(HERE, "..", "..", "docs", "examples")
INVALID_DIR = os.path.join(HERE, "invalid")

# The capabilities of include/uapi/linux/capability.h in Linux 5.9 and later
# (CAP_CHOWN = 0 to CAP_CHECKPOINT_RESTORE = 40), without the CAP_ prefix.
LINUX_CAPABILITIES = frozenset("""
    CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID
    SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW
    IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT
    SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD
    LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE
""".split())

# kind -> apiVersion.
KINDS = {"Pod": "v1", "DaemonSet": "apps/v1"}

# Container names are DNS-1123 labels.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class ManifestError(Exception):
    pass


def require(condition, message):
    if not condition:
        raise ManifestError(message)


def variant_of(path):
    name = os.path.basename(path)
    for variant in ("shared-pid", "native-sidecar", "host-pid"):
        if name.startswith(variant):
            return variant
    raise ManifestError(
        f"{name}: unknown variant; start the file name with shared-pid, "
        "native-sidecar or host-pid")


def pod_spec_of(document):
    """Checks the Pod or DaemonSet shape and returns its pod spec."""
    kind = document.get("kind")
    require(kind in KINDS, f"kind {kind!r} is not one of {sorted(KINDS)}")
    require(document.get("apiVersion") == KINDS[kind],
            f"apiVersion of a {kind} must be {KINDS[kind]!r}, "
            f"not {document.get('apiVersion')!r}")
    metadata = document.get("metadata") or {}
    require(isinstance(metadata.get("name"), str) and metadata["name"],
            "metadata.name is missing")
    spec = document.get("spec")
    require(isinstance(spec, dict), "spec is missing")
    if kind == "Pod":
        return spec

    match_labels = (spec.get("selector") or {}).get("matchLabels") or {}
    require(match_labels, "spec.selector.matchLabels is missing")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    for key, value in match_labels.items():
        require(labels.get(key) == value,
                f"spec.template.metadata.labels lacks {key}: {value}, which "
                "spec.selector.matchLabels selects")
    pod_spec = template.get("spec")
    require(isinstance(pod_spec, dict), "spec.template.spec is missing")
    return pod_spec


def check_capabilities(where, container):
    context = container.get("securityContext") or {}
    capabilities = context.get("capabilities") or {}
    added = capabilities.get("add") or []
    for field in ("add", "drop"):
        for name in capabilities.get(field) or []:
            require(isinstance(name, str), f"{where}: capability {name!r} "
                    "is not a string")
            if field == "drop" and name == "ALL":
                continue
            if name.upper().startswith("CAP_"):
                raise ManifestError(
                    f"{where}: capability {name!r}: Kubernetes expects the "
                    f"name without the CAP_ prefix, {name[4:].upper()!r}")
            require(name in LINUX_CAPABILITIES,
                    f"{where}: {name!r} is not a Linux capability name")
    user = context.get("runAsUser")
    require(not added or user in (None, 0),
            f"{where}: capabilities are added but runAsUser is {user}; "
            "Kubernetes sets no ambient capabilities, so they are effective "
            "only for uid 0")


def check_containers(pod_spec):
    containers = pod_spec.get("containers")
    require(isinstance(containers, list) and containers,
            "the pod spec has no containers")
    init_containers = pod_spec.get("initContainers") or []
    require(isinstance(init_containers, list),
            "initContainers is not a list")
    names = set()
    for field, items in (("containers", containers),
                         ("initContainers", init_containers)):
        for index, container in enumerate(items):
            where = f"{field}[{index}]"
            require(isinstance(container, dict), f"{where} is not a mapping")
            name = container.get("name")
            require(isinstance(name, str) and DNS_LABEL.match(name),
                    f"{where}: name {name!r} is not a DNS-1123 label")
            require(name not in names, f"{where}: name {name!r} is repeated")
            names.add(name)
            image = container.get("image")
            require(isinstance(image, str) and image,
                    f"{where} ({name}): image is missing")
            policy = container.get("restartPolicy")
            if field == "containers":
                require(policy is None,
                        f"{where} ({name}): restartPolicy is allowed only on "
                        "init containers")
            else:
                require(policy in (None, "Always"),
                        f"{where} ({name}): restartPolicy must be Always "
                        f"or absent, not {policy!r}")
            check_capabilities(f"{where} ({name})", container)


def check_variant(variant, pod_spec):
    shared = pod_spec.get("shareProcessNamespace")
    host_pid = pod_spec.get("hostPID")
    require(not (shared is True and host_pid is True),
            "shareProcessNamespace and hostPID cannot both be true")
    if variant in ("shared-pid", "native-sidecar"):
        require(shared is True,
                f"a {variant} pod needs shareProcessNamespace: true, "
                "or the sidecar sees only its own processes")
    if variant == "native-sidecar":
        init_containers = pod_spec.get("initContainers") or []
        require(any(c.get("restartPolicy") == "Always"
                    for c in init_containers),
                "a native sidecar is an init container with restartPolicy: "
                "Always, and none has it")
    if variant == "host-pid":
        require(host_pid is True, "a host-pid pod needs hostPID: true")


def check_manifest(path):
    """Raises ManifestError naming the file and the first problem."""
    name = os.path.basename(path)
    try:
        with open(path) as f:
            documents = [d for d in yaml.safe_load_all(f) if d is not None]
        require(documents, "the file has no YAML document")
        variant = variant_of(path)
        for document in documents:
            require(isinstance(document, dict),
                    "a YAML document is not a mapping")
            pod_spec = pod_spec_of(document)
            check_containers(pod_spec)
            check_variant(variant, pod_spec)
    except yaml.YAMLError as error:
        raise ManifestError(f"{name}: invalid YAML: {error}") from error
    except ManifestError as error:
        message = str(error)
        if message.startswith(name):
            raise
        raise ManifestError(f"{name}: {message}") from error


def expected_message(path):
    with open(path) as f:
        first = f.readline()
    prefix = "# expect: "
    if not first.startswith(prefix):
        raise AssertionError(f"{path}: first line must be '{prefix}<text>'")
    return first[len(prefix):].strip()


class ExampleManifests(unittest.TestCase):
    def test_examples_are_valid(self):
        paths = sorted(glob.glob(os.path.join(EXAMPLES_DIR, "*.yaml")))
        self.assertTrue(paths, f"no *.yaml in {EXAMPLES_DIR}")
        for path in paths:
            with self.subTest(manifest=os.path.basename(path)):
                check_manifest(path)

    def test_every_variant_has_an_example(self):
        paths = glob.glob(os.path.join(EXAMPLES_DIR, "*.yaml"))
        variants = {variant_of(path) for path in paths}
        self.assertEqual(variants, {"shared-pid", "native-sidecar",
                                    "host-pid"})

    def test_invalid_manifests_are_rejected(self):
        paths = sorted(glob.glob(os.path.join(INVALID_DIR, "*.yaml")))
        self.assertTrue(paths, f"no *.yaml in {INVALID_DIR}")
        for path in paths:
            with self.subTest(manifest=os.path.basename(path)):
                with self.assertRaises(ManifestError) as caught:
                    check_manifest(path)
                self.assertIn(expected_message(path), str(caught.exception))


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        EXAMPLES_DIR = sys.argv.pop(1)
    unittest.main()
