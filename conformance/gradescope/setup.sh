#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu): installs what the
# grader and typical submissions need, and builds the grader from the copy of this repository
# that the autograder zip carries in batepapo/.
set -euo pipefail
source_dir="${AUTOGRADER_ROOT:-/autograder}/source"

# What submissions are written in, from autograder.conf (LANGUAGES="python java node c").
languages="python c"
if [ -f "$source_dir/autograder.conf" ]; then
  # shellcheck source=/dev/null
  . "$source_dir/autograder.conf"
  languages="${LANGUAGES:-$languages}"
fi
packages=(build-essential curl ca-certificates iproute2)
for language in $languages; do
  case "$language" in
    python) packages+=(python3) ;;
    java) packages+=(default-jdk-headless) ;;
    node) packages+=(nodejs) ;;
    c) ;;
    *) echo "setup.sh: unknown language '$language' in LANGUAGES (python, java, node, c)" >&2; exit 2 ;;
  esac
done
# A client to grade (CLIENT_CMD) runs on a virtual display: tkinter ones through the grader's
# hook, others (Java Swing) with xdotool and OCR, which need a Java with AWT.
if [ -n "${CLIENT_CMD:-}" ]; then
  packages+=(xvfb python3 python3-tk xdotool tesseract-ocr strace)
  case " $languages " in
    *" java "*) packages=("${packages[@]/default-jdk-headless/default-jdk}") ;;
  esac
fi
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

# Rust: the one on PATH, or one from ~/.cargo, or a fresh one; the workspace needs 1.88.
if ! command -v cargo >/dev/null && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck source=/dev/null
  . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck source=/dev/null
  . "$HOME/.cargo/env"
fi
need="1.88"
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
  echo "setup.sh: Rust $have is too old; the grader needs $need or newer (rustup update)" >&2
  exit 2
fi
cd "$source_dir/batepapo"
cargo build --release --locked -p conformance
