#!/usr/bin/env bash
# Run a command, then fail if it left a pcscd running that was not running before it
# (the rig stops the pcscd it started once no rig process uses it).
set -uo pipefail
before=$(pgrep -x pcscd || true)
"$@"
rc=$?
sleep 0.5
after=$(pgrep -x pcscd || true)
if [ -z "$before" ] && [ -n "$after" ]; then
  echo "check-strays: pcscd (pid $after) was left running by the test run" >&2
  exit 1
fi
exit $rc
