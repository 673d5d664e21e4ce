"""A subject that misbehaves on purpose, for the tests of `--backend exec:CMD`: by case
id it crashes, hangs, writes a line that is not an outcome, or answers with another
case's id; every other case gets an honest (if unhelpful) answer. Standard library only.
"""

import json
import sys
import time

for line in sys.stdin:
    case = json.loads(line)
    id = case.get("id", "")
    if id.startswith("crash"):
        print("misbehaving: crashing on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    if id.startswith("hang"):
        time.sleep(3600)
    if id.startswith("garbage"):
        answer = "this is not an outcome"
    elif id.startswith("wrong-id"):
        answer = json.dumps({"id": "someone-else", "error": {"kind": "RuntimeError", "message": "?"}})
    else:
        answer = json.dumps(
            {"id": id, "error": {"kind": "NotImplementedError", "message": "not implemented here"}}
        )
    print(answer, flush=True)
