#!/usr/bin/env bash
# The test command: sets up libtorch if needed (idempotent), then runs every test,
# including the differential tests against libtorch.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup-libtorch.sh"
cd "$root"
cargo test --workspace "$@"
