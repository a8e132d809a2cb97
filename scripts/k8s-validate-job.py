#!/usr/bin/env python3
"""Checks a Kubernetes Job written by `visage batch k8s` against the batch/v1 Job schema
(scripts/k8s/job-batch-v1.schema.json) plus the API server's rules JSON Schema cannot express, and prints
what a test needs to run it without a cluster: the container's command, its environment and the number of
indexes, as one JSON object on stdout.

usage: k8s-validate-job.py JOB.yaml        exit 0: valid (JSON on stdout); 1: invalid (reasons on stderr)
Needs PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema; `scripts/setup.sh --test`).
"""
import json
import os
import sys

import jsonschema
import yaml

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "k8s", "job-batch-v1.schema.json")


def semantic_problems(job):
    """Cross-field rules of the Job API that the schema cannot state."""
    problems = []
    spec = job["spec"]
    pod = spec["template"]["spec"]
    names = {c["name"] for c in pod["containers"]}
    for k, rule in enumerate(spec.get("podFailurePolicy", {}).get("rules", [])):
        codes = rule.get("onExitCodes")
        if not codes:
            continue
        values = codes["values"]
        if values != sorted(values):
            problems.append(f"spec.podFailurePolicy.rules[{k}].onExitCodes.values must be in increasing order: {values}")
        if "containerName" in codes and codes["containerName"] not in names:
            problems.append(f"spec.podFailurePolicy.rules[{k}].onExitCodes.containerName {codes['containerName']!r} is no container of the pod ({sorted(names)})")
    volumes = {v["name"] for v in pod.get("volumes", [])}
    for c in pod["containers"]:
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                problems.append(f"container {c['name']!r} mounts volume {m['name']!r}, which the pod does not define")
    if spec.get("completionMode") == "Indexed" and len(job["metadata"]["name"]) > 63 - 1 - len(str(spec["completions"] - 1)) - 6:
        problems.append("metadata.name is too long for the pods' names (name-index-xxxxx must fit 63 characters)")
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    if len(documents) != 1:
        print(f"{sys.argv[1]}: expected one YAML document, found {len(documents)}", file=sys.stderr)
        return 1
    job = documents[0]
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(job), key=lambda e: list(e.absolute_path))
    problems = [f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}" for e in errors]
    if not problems:
        problems = semantic_problems(job)
    if problems:
        for p in problems:
            print(f"{sys.argv[1]}: {p}", file=sys.stderr)
        return 1
    spec = job["spec"]
    container = spec["template"]["spec"]["containers"][0]
    print(json.dumps({
        "name": job["metadata"]["name"],
        "completionMode": spec.get("completionMode", "NonIndexed"),
        "completions": spec.get("completions"),
        "parallelism": spec.get("parallelism"),
        "command": container.get("command", []) + container.get("args", []),
        "env": {e["name"]: e.get("value", "") for e in container.get("env", [])},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
