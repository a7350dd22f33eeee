"""Small steps of ci.sh that want JSON: the server's address, readiness, tokens, the summary.

Standard library only, so it runs before and without the venv's packages.
"""

import json
import sys
import time
import urllib.error
import urllib.request


def listen_addr(log_path, timeout):
    """The address in the server's `listening` log line (JSON lines), once it is written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(log_path, encoding="utf-8", errors="replace") as log:
                for line in log:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    fields = entry.get("fields", {})
                    if fields.get("message") == "listening" and "addr" in fields:
                        return fields["addr"]
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    sys.exit(f"no `listening` line in {log_path} after {timeout} s")


def wait_ready(base, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    sys.exit(f"{base}/readyz did not answer 200 within {timeout} s")


def login(base, username, password):
    request = urllib.request.Request(
        f"{base}/api/auth/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def summary(reports):
    """One line over every role's NDJSON event stream: operations (counted once per role)
    whose every check passed, and those with a failing check or an error."""
    passed = failed = 0
    for path in reports:
        operations, failing = set(), set()
        with open(path, encoding="utf-8") as events:
            for line in events:
                finished = json.loads(line).get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished.get("recorder") or {}
                label = recorder.get("label")
                # Stateful scenarios are labelled as a whole; their cases name the operation.
                if label and label != "Stateful tests":
                    operations.add(label)
                if finished.get("status") == "error":
                    failing.add(label)
                cases = recorder.get("cases") or {}
                for case_id, checks in (recorder.get("checks") or {}).items():
                    if any(check.get("status") == "failure" for check in checks):
                        case = cases.get(case_id, {}).get("value", {})
                        name = f"{case.get('method')} {case.get('path')}"
                        # A case of an undocumented method counts against the operation tried.
                        failing.add(name if name in operations else label)
        passed += len(operations - failing)
        failed += len(failing)
    print(f"schemathesis: {passed} passed, {failed} failed")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "addr":
        print(listen_addr(args[0], float(args[1])))
    elif command == "ready":
        wait_ready(args[0], float(args[1]))
    elif command == "login":
        print(login(args[0], args[1], args[2]))
    elif command == "summary":
        summary(args)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
