# Loaded by the Python that torch-sys's build script runs (.cargo/config.toml puts this
# folder on PYTHONPATH and sets LIBTORCH_USE_PYTORCH=1): it makes the per-machine torch
# install that scripts/setup-libtorch.sh linked as `.libtorch` importable, or stops the
# build with one line that says what to run.
import os
import sys

_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_link = os.path.join(_root, ".libtorch")
if os.path.isdir(_link):
    sys.path.insert(0, os.path.dirname(os.path.realpath(_link)))
else:
    sys.stderr.write(
        "lossparity: libtorch is not set up; run scripts/setup-libtorch.sh once "
        "(or build without it: cargo build --no-default-features)\n"
    )
    sys.stderr.flush()
    os._exit(1)
