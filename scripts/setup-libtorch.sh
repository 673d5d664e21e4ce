#!/usr/bin/env bash
# Installs PyTorch 2.13.0 (the libtorch that tch 0.26 binds) once per machine, into a
# cache outside the checkout, and links it into this checkout as `.libtorch`, where the
# Python shim that `.cargo/config.toml` sets up finds it for torch-sys's build script.
# Idempotent: a second run takes a second.
#
#   scripts/setup-libtorch.sh            install if needed, then link
#   LOSSPARITY_CACHE=/some/dir ...       choose the cache (default ~/.cache/lossparity)
set -euo pipefail

TORCH_VERSION=2.13.0
cache="${LOSSPARITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lossparity}"
venv="$cache/torch-$TORCH_VERSION"
stamp="$venv/.installed"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "setup-libtorch: python3 not found; install Python 3.9+ with pip first" >&2
  exit 1
fi

if [ ! -f "$stamp" ]; then
  echo "setup-libtorch: installing torch==$TORCH_VERSION into $venv (about 5 GB, once per machine)" >&2
  mkdir -p "$cache"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --quiet --upgrade pip
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar on "torch==$TORCH_VERSION" numpy
  "$venv/bin/python" -c "import torch; assert torch.__version__.startswith('$TORCH_VERSION'), torch.__version__"
  touch "$stamp"
fi

torch_dir="$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')"
if [ ! -f "$torch_dir/lib/libtorch_cpu.so" ] || [ ! -d "$torch_dir/include" ]; then
  echo "setup-libtorch: $torch_dir has no lib/libtorch_cpu.so or include/; remove $venv and rerun" >&2
  exit 1
fi

# A link inside the checkout (ignored by git) gives the build a fixed, relative place
# to look; the 5 GB stay in the per-machine cache, shared by every clone.
ln -sfn "$torch_dir" "$root/.libtorch"
echo "setup-libtorch: torch $TORCH_VERSION ready at $torch_dir" >&2
