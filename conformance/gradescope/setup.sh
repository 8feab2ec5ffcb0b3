#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu): installs what the
# grader and typical submissions need, and builds the grader from the copy of this repository
# that the autograder zip carries in batepapo/.
set -euo pipefail
source_dir="${AUTOGRADER_ROOT:-/autograder}/source"

apt-get update
apt-get install -y --no-install-recommends build-essential curl ca-certificates python3
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
# shellcheck source=/dev/null
. "$HOME/.cargo/env"
cd "$source_dir/batepapo"
cargo build --release --locked -p conformance
