"""Checks that dapr/subscriptions/*.yaml subscribe exactly as the worker does.

The worker answers Dapr's GET /dapr/subscribe with a list of subscriptions; the
declarative Subscription files are an alternative to that list, so they must
say the same thing: same pub/sub, topics, routes, dead-letter topics (and
metadata, when either side has any). Run by scripts/check-dapr.sh:

    check_dapr_subscriptions.py --programmatic LIST.json --app-id cadence-worker FILE.yaml...

LIST.json is what `<server> dapr subscriptions` prints: a JSON array of
{"pubsubname", "topic", "routes": {"default", "rules"?}, "deadLetterTopic"?,
"metadata"?} objects (Dapr's programmatic format; the older "route" string is
read as routes.default). Exits 1 with every difference listed.
"""

import argparse
import json
import sys

import yaml

FIELDS = ("pubsubname", "topic", "route", "rules", "deadLetterTopic", "metadata")


class Invalid(Exception):
    """A list or file that cannot be compared at all."""


def normalise(entry, where):
    """The comparable fields of one subscription, from either side."""
    if not isinstance(entry, dict):
        raise Invalid(f"{where}: expected an object, got {type(entry).__name__}")
    routes = entry.get("routes") or {}
    if not isinstance(routes, dict):
        raise Invalid(f"{where}: routes must be an object")
    route = routes.get("default", entry.get("route"))
    rules = tuple(
        (rule.get("match", ""), rule.get("path", "")) for rule in routes.get("rules") or []
    )
    metadata = entry.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise Invalid(f"{where}: metadata must be an object")
    for field in ("pubsubname", "topic"):
        if not isinstance(entry.get(field), str) or not entry[field]:
            raise Invalid(f"{where}: missing {field}")
    return {
        "pubsubname": entry["pubsubname"],
        "topic": entry["topic"],
        "route": route,
        "rules": rules,
        "deadLetterTopic": entry.get("deadLetterTopic") or None,
        "metadata": {str(k): str(v) for k, v in sorted(metadata.items())},
    }


def index(entries, side, errors):
    """Entries keyed by (pubsubname, topic): Dapr keeps one subscription per
    topic and app, so a second one for the same topic is itself an error."""
    by_key = {}
    for where, entry in entries:
        key = (entry["pubsubname"], entry["topic"])
        if key in by_key:
            errors.append(f"{side}: {key[0]}/{key[1]} is subscribed twice ({by_key[key][0]} and {where})")
            continue
        by_key[key] = (where, entry)
    return by_key


def load_programmatic(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise Invalid(f"{path}: not a JSON file: {e}") from e
    if not isinstance(data, list):
        raise Invalid(f"{path}: expected a JSON array of subscriptions, got {type(data).__name__}")
    return [(f"{path}[{i}]", normalise(entry, f"{path}[{i}]")) for i, entry in enumerate(data)]


def load_declarative(paths, app_id, errors):
    entries = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except (OSError, yaml.YAMLError) as e:
            raise Invalid(f"{path}: cannot be read: {e}") from e
        if len(docs) != 1 or not isinstance(docs[0], dict) or docs[0].get("kind") != "Subscription":
            raise Invalid(f"{path}: expected one Subscription document")
        doc = docs[0]
        # The programmatic list is the worker's: a file the worker would not
        # load subscribes someone else, so it cannot stand in for that list.
        if app_id not in (doc.get("scopes") or []):
            errors.append(f"{path}: scopes do not include {app_id}, whose list it replaces")
        entries.append((path, normalise(doc.get("spec") or {}, path)))
    return entries


def describe(entry):
    parts = [f"route {entry['route']}", f"deadLetterTopic {entry['deadLetterTopic']}"]
    if entry["rules"]:
        parts.append(f"rules {list(entry['rules'])}")
    if entry["metadata"]:
        parts.append(f"metadata {entry['metadata']}")
    return f"{entry['pubsubname']}/{entry['topic']} ({', '.join(parts)})"


def compare(programmatic, declarative):
    """Every difference between the two indexed lists, as sentences."""
    errors = []
    for key in sorted(programmatic.keys() | declarative.keys()):
        if key not in declarative:
            where, entry = programmatic[key]
            errors.append(f"only in the worker's list: {describe(entry)}; add a Subscription file for it")
            continue
        if key not in programmatic:
            where, entry = declarative[key]
            errors.append(f"only in {where}: {describe(entry)}; the worker does not subscribe to it")
            continue
        (_, ours), (where, theirs) = programmatic[key], declarative[key]
        for field in FIELDS:
            if ours[field] != theirs[field]:
                errors.append(
                    f"{where}: {key[0]}/{key[1]} {field} is {theirs[field]!r}, the worker's is {ours[field]!r}"
                )
    return errors


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programmatic", required=True, help="JSON list printed by `server dapr subscriptions`")
    parser.add_argument("--app-id", default="cadence-worker", help="app-id whose list that is")
    parser.add_argument("files", nargs="+", help="declarative Subscription YAML files")
    args = parser.parse_args(argv)

    errors = []
    try:
        programmatic = index(load_programmatic(args.programmatic), "the worker's list", errors)
        declarative = index(load_declarative(args.files, args.app_id, errors), "dapr/subscriptions", errors)
    except Invalid as e:
        print(f"check_dapr_subscriptions: {e}", file=sys.stderr)
        return 1
    errors += compare(programmatic, declarative)
    if errors:
        print("The declarative subscriptions differ from the worker's programmatic list:", file=sys.stderr)
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    print(f"{len(declarative)} declarative subscriptions match the worker's list: "
          + ", ".join(f"{p}/{t}" for p, t in sorted(declarative)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
