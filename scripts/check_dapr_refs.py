"""Checks the names dapr/*.yaml use to point at each other.

A JSON Schema sees one file at a time; Dapr reads them together and mostly
ignores a name that points nowhere (a resiliency target for a component that
does not exist applies to nothing). Run by scripts/check-dapr.sh after the
schemas passed:

    check_dapr_refs.py FILE.yaml...

Checks: names are unique per kind; a component's metadata names are unique;
auth.secretStore names a secret store loaded by every app-id of the component;
a Subscription's pubsubname names a pub/sub loaded by its app-ids, and its
dead-letter topic is another topic; a Resiliency's targets name existing
components and policies. Exits 1 with every problem listed.
"""

import sys

import yaml


def load(paths):
    resources = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    resources.append((path, doc))
    return resources


def check(resources):
    errors = []
    by_kind = {}
    for path, doc in resources:
        name = doc["metadata"]["name"]
        kind_names = by_kind.setdefault(doc["kind"], {})
        if name in kind_names:
            errors.append(f"{path}: {doc['kind']} {name} is also defined in {kind_names[name][0]}")
        kind_names[name] = (path, doc)
    components = by_kind.get("Component", {})

    def component_of(category, name, app_ids, where):
        """The component `name` of `category`, loaded by every one of app_ids."""
        if name not in components:
            errors.append(f"{where}: no Component named {name} in dapr/")
            return
        path, comp = components[name]
        if not comp["spec"]["type"].startswith(category + "."):
            errors.append(f"{where}: {name} ({path}) is a {comp['spec']['type']}, not a {category}")
        missing = sorted(set(app_ids) - set(comp.get("scopes") or []))
        if missing:
            errors.append(f"{where}: {name} ({path}) is not scoped to {', '.join(missing)}, so they would not load it")

    for name, (path, comp) in components.items():
        seen = set()
        for item in comp["spec"]["metadata"]:
            if item["name"] in seen:
                errors.append(f"{path}: metadata {item['name']} is set twice")
            seen.add(item["name"])
        if "auth" in comp:
            component_of("secretstores", comp["auth"]["secretStore"], comp["scopes"], f"{path}: auth.secretStore")

    for name, (path, sub) in by_kind.get("Subscription", {}).items():
        spec = sub["spec"]
        component_of("pubsub", spec["pubsubname"], sub["scopes"], f"{path}: pubsubname")
        if spec["deadLetterTopic"] == spec["topic"]:
            errors.append(f"{path}: deadLetterTopic is the subscribed topic itself, so a failing event would loop")

    for name, (path, res) in by_kind.get("Resiliency", {}).items():
        policies = res["spec"]["policies"]
        defined = {
            "timeout": policies.get("timeouts") or {},
            "retry": policies.get("retries") or {},
            "circuitBreaker": policies.get("circuitBreakers") or {},
        }
        for comp_name, directions in (res["spec"]["targets"].get("components") or {}).items():
            if comp_name not in components:
                errors.append(f"{path}: targets.components names {comp_name}, which is no Component in dapr/")
            for direction, refs in directions.items():
                for kind, policy in refs.items():
                    if policy not in defined[kind]:
                        errors.append(f"{path}: targets.components.{comp_name}.{direction}.{kind} names {policy}, which is not defined")
    return errors


def main(paths):
    errors = check(load(paths))
    if errors:
        print("Dapr manifests point at names that do not fit:", file=sys.stderr)
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
