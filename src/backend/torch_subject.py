"""lossparity's Python subject: PyTorch's own `torch.nn.functional`, the calls users make.

Reads cases (JSON Lines, lossparity's case format version 2) on standard input and
writes one outcome line per case on standard output, flushed per line, in order. It is
the `python` backend of `lossparity` (started once per run, cases streamed to it) and a
working example of the subject protocol (docs/subjects.md) that `--backend exec:CMD`
speaks: `lossparity eval --backend 'exec:python3 src/backend/torch_subject.py' FILE`
runs it the same way.

Every field of a case other than `id`, `op`, `grad`, `grad_wrt` and `grad_output` is a
keyword argument of `torch.nn.functional.<op>` under its PyTorch name, so the script
knows no op in particular: a new op of the format works here unchanged.
"""

import json
import math
import sys
import warnings

import torch
import torch.nn.functional as F

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "uint8": torch.uint8,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}
NOT_ARGUMENTS = {"id", "op", "grad", "grad_wrt", "grad_output"}
# The format's default `grad_wrt` when a case asks for `grad` without naming tensors.
DEFAULT_WRT = {
    "margin_ranking_loss": ["input1", "input2"],
    "cosine_embedding_loss": ["input1", "input2"],
    "triplet_margin_loss": ["anchor", "positive", "negative"],
    "triplet_margin_with_distance_loss": ["anchor", "positive", "negative"],
    "ctc_loss": ["log_probs"],
}
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class BadCase(Exception):
    """A line this script cannot read as a case (lossparity validates cases first, so
    only another sender meets it)."""


def decode_tensor(obj):
    dtype = DTYPES.get(obj.get("dtype"))
    if dtype is None:
        raise BadCase(f"unknown dtype {obj.get('dtype')!r}")
    data = [NON_FINITE.get(v, v) if isinstance(v, str) else v for v in obj["data"]]
    return torch.tensor(data, dtype=dtype).reshape(tuple(obj["shape"]))


def decode_argument(name, value):
    if isinstance(value, dict):
        return decode_tensor(value)
    # Non-finite numbers are written as strings; `reduction` is the one string option.
    if isinstance(value, str) and name != "reduction" and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def encode_float(x):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    # repr of the double is the shortest string that reads back to it, and a float32,
    # float16 or bfloat16 value read back as a double and rounded is the same value.
    return x


def encode_tensor(t):
    t = t.detach()
    name = NAMES.get(t.dtype)
    if name is None:
        raise BadCase(f"the result has dtype {t.dtype}, which the format cannot hold")
    flat = t.reshape(-1)
    if t.dtype.is_floating_point:
        data = [encode_float(x) for x in flat.double().tolist()]
    else:
        data = flat.tolist()
    return {"dtype": name, "shape": list(t.shape), "data": data}


def error(e):
    text = str(e)
    # PyTorch's messages are one line, then (for some builds) a C++ backtrace.
    first = text.split("\n", 1)[0]
    return {"kind": type(e).__name__, "message": first}


def evaluate(case):
    outcome = {}
    if "id" in case:
        outcome["id"] = case["id"]
    wanted = case.get("grad", False)
    wrt = (case.get("grad_wrt") or DEFAULT_WRT.get(case["op"], ["input"])) if wanted else []
    kwargs = {k: decode_argument(k, v) for k, v in case.items() if k not in NOT_ARGUMENTS}
    inputs = []
    for name in wrt:
        tensor = kwargs.get(name)
        if not isinstance(tensor, torch.Tensor):
            raise BadCase(f"grad_wrt names {name!r}, which is not a tensor of the case")
        tensor.requires_grad_()
        inputs.append(tensor)
    function = getattr(F, case["op"], None)
    if function is None:
        raise BadCase(f"torch.nn.functional has no {case['op']!r}")
    try:
        output = function(**kwargs)
    except Exception as e:  # noqa: BLE001 - every exception is an outcome
        outcome["error"] = error(e)
        return outcome
    outcome["output"] = encode_tensor(output)
    if not wanted:
        return outcome
    try:
        if "grad_output" in case:
            grad_output = decode_tensor(case["grad_output"])
        else:
            grad_output = torch.ones_like(output)
        grads = torch.autograd.grad(
            output, inputs, grad_outputs=grad_output, allow_unused=True, materialize_grads=True
        )
    except Exception as e:  # noqa: BLE001
        outcome["grad_error"] = error(e)
        return outcome
    for name, grad in zip(wrt, grads):
        outcome["grad_" + name] = encode_tensor(grad)
    return outcome


def main():
    warnings.simplefilter("ignore")
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            outcome = evaluate(json.loads(line))
        except (BadCase, ValueError, KeyError, TypeError) as e:
            outcome = {"error": {"kind": "InvalidCase", "message": str(e)}}
        out.write(json.dumps(outcome, allow_nan=False) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
