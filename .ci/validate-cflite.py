#!/usr/bin/env python3
"""Static checks of the ClusterFuzzLite / GitHub Actions config (.ci/validate-cflite.sh).

Every workflow parses as YAML; every repo script a `run:` step names exists and is executable;
ClusterFuzzLite action steps use language swift and a sanitizer the action accepts
(address|memory|undefined|coverage: oss-fuzz infra/cifuzz/config_utils.py), store the corpus in
a storage branch, and PR fuzzing runs in code-change mode; .clusterfuzzlite/ follows the recipe.
"""
import os
import re
import sys

import yaml

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
errors = []


def err(msg):
    errors.append(msg)


def steps(doc):
    for name, job in (doc.get("jobs") or {}).items():
        for st in job.get("steps") or []:
            yield name, job, st


wf_dir = os.path.join(root, ".github", "workflows")
workflows = sorted(f for f in os.listdir(wf_dir) if f.endswith((".yml", ".yaml")))
modes = set()
for wf in workflows:
    path = os.path.join(wf_dir, wf)
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as e:
        err(f"{wf}: not YAML: {e}")
        continue
    if not isinstance(doc, dict) or "jobs" not in doc:
        err(f"{wf}: no jobs")
        continue
    # PyYAML reads the key `on` as True.
    if "on" not in doc and True not in doc:
        err(f"{wf}: no trigger (on:)")
    for job_name, job, st in steps(doc):
        run = st.get("run") or ""
        for script in re.findall(r"(?:^|[\s;&|(])((?:\.ci|Fuzz|\.clusterfuzzlite)/[\w./-]+)", run):
            p = os.path.join(root, script)
            if not os.path.exists(p):
                err(f"{wf}: {job_name}: names {script}, which does not exist")
            elif script.endswith(".sh") and not os.access(p, os.X_OK):
                err(f"{wf}: {job_name}: {script} is not executable")
        uses = st.get("uses") or ""
        if "clusterfuzzlite/actions/" in uses:
            w = st.get("with") or {}
            san = str(w.get("sanitizer", "address"))
            if "${{" not in san and san not in ("address", "memory", "undefined", "coverage"):
                err(f"{wf}: {job_name}: sanitizer {san} is rejected by the ClusterFuzzLite action")
            matrix = ((job.get("strategy") or {}).get("matrix") or {}).get("sanitizer") or []
            for s in matrix:
                if s not in ("address", "coverage"):
                    err(f"{wf}: {job_name}: matrix sanitizer {s}: Swift on CFLite supports address (and coverage)")
            if uses.split("@")[0].endswith("build_fuzzers") and w.get("language") != "swift":
                err(f"{wf}: {job_name}: build_fuzzers without language: swift")
            if uses.split("@")[0].endswith("run_fuzzers"):
                modes.add(w.get("mode", "code-change"))
                if not w.get("storage-repo") or not w.get("storage-repo-branch"):
                    err(f"{wf}: {job_name}: run_fuzzers without storage-repo / storage-repo-branch")
                if wf == "cflite_pr.yml" and (w.get("mode") != "code-change" or int(w.get("fuzz-seconds", 600)) != 600):
                    err(f"{wf}: PR fuzzing must be code-change mode, 600 s")
for m in ("code-change", "batch", "prune", "coverage"):
    if m not in modes:
        err(f"no workflow runs ClusterFuzzLite mode {m}")
if not any("thread" in open(os.path.join(wf_dir, w)).read() for w in workflows):
    err("no TSan workflow")

cfl = os.path.join(root, ".clusterfuzzlite")
with open(os.path.join(cfl, "project.yaml")) as f:
    if (yaml.safe_load(f) or {}).get("language") != "swift":
        err(".clusterfuzzlite/project.yaml: language is not swift")
docker = open(os.path.join(cfl, "Dockerfile")).read()
for want in ("FROM gcr.io/oss-fuzz-base/base-builder-swift", "COPY . $SRC/gmemfuzz",
             "WORKDIR $SRC/gmemfuzz", "COPY .clusterfuzzlite/build.sh $SRC/"):
    if want not in docker:
        err(f".clusterfuzzlite/Dockerfile: missing `{want}`")
build = open(os.path.join(cfl, "build.sh")).read()
if "precompile_swift" not in build or "Fuzz/build.sh" not in build:
    err(".clusterfuzzlite/build.sh must source precompile_swift and call Fuzz/build.sh")
if not os.access(os.path.join(cfl, "build.sh"), os.X_OK):
    err(".clusterfuzzlite/build.sh is not executable")

errors = list(dict.fromkeys(errors))
for e in errors:
    print("validate-cflite: " + e)
print(f"validate-cflite: {len(workflows)} workflows, modes {sorted(modes)}: {'FAILED' if errors else 'ok'}")
sys.exit(1 if errors else 0)
