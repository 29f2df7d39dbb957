#!/usr/bin/env bash
# schemathesis, every check, over the whole document of a running API.
#
#   openapi/schemathesis/run.sh http://127.0.0.1:8080 "$ADMIN_KEY" [more st run options]
#
# The server must have been started with OVERTURN_BOOTSTRAP_ADMIN_KEY=$ADMIN_KEY. DELETE is
# left out: the fuzzer would revoke its own key. Needs `pip install schemathesis`.
set -euo pipefail
cd "$(dirname "$0")"
base=${1:?base URL}
key=${2:?admin key}
shift 2
exec st run "$base/openapi.json" -H "Authorization: Bearer $key" --checks all --exclude-method DELETE "$@"
