#!/usr/bin/env python3
"""Compares the product's verdicts with Megatron's.

    compare.py PRODUCT.jsonl JUDGE.jsonl [EXCEPTIONS]

PRODUCT.jsonl: tests/megatron/n56-args output; JUDGE.jsonl: judge.py's.
EXCEPTIONS: lines "REGEX<TAB>REASON": a product refusal whose message
matches REGEX while Megatron starts the args is an exception with that
reason (a rule Megatron checks only when it builds the model or runs the
schedule, a fact of the node's software, or the product's own policy),
not a false reject. Prints every disagreement and a summary ending in
"N passed, N failed" (passed: the verdicts agree or an exception applies).
Exit status: 0 when nothing failed, 1 otherwise, 2 usage.
"""
import json
import re
import sys


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                o = json.loads(line)
                if o.get("id") is not None:
                    out[o["id"]] = o
    return out


def main(argv):
    if len(argv) not in (2, 3) or argv[0] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    product, judge = load(argv[0]), load(argv[1])
    exceptions = []
    if len(argv) == 3:
        with open(argv[2]) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    rx, reason = line.rstrip("\n").split("\t", 1)
                    exceptions.append((re.compile(rx), reason))
    counts = {"accept-agree": 0, "refuse-agree": 0, "refuse-no-args": 0,
              "false-accept": 0, "false-reject": 0, "exception": 0,
              "missing": 0}
    used = {}
    seconds = []
    for rid, p in sorted(product.items()):
        j = judge.get(rid)
        if p["args"] is None:
            # nothing to run: the recipe does not parse, tile or split
            kind = "refuse-no-args" if not p["ok"] else "false-accept"
            counts[kind] += 1
            if kind == "false-accept":
                print("FALSE ACCEPT %s: accepted, but no args" % rid)
            continue
        if j is None:
            counts["missing"] += 1
            print("MISSING %s: no verdict from Megatron" % rid)
            continue
        seconds.append(j["seconds"])
        if p["ok"] and j["ok"]:
            counts["accept-agree"] += 1
        elif not p["ok"] and not j["ok"]:
            counts["refuse-agree"] += 1
        elif p["ok"]:
            counts["false-accept"] += 1
            print("FALSE ACCEPT %s: Megatron (%s): %s" %
                  (rid, j["stage"], j["error"]))
        else:
            reason = None
            for e in p["errors"]:
                for rx, why in exceptions:
                    if rx.search(e):
                        reason = why
                        used[why] = used.get(why, 0) + 1
                        break
                if reason:
                    break
            if reason and all(any(rx.search(e) for rx, _ in exceptions)
                              for e in p["errors"]):
                counts["exception"] += 1
            else:
                counts["false-reject"] += 1
                print("FALSE REJECT %s: Megatron starts the args; "
                      "validate says: %s" % (rid, " | ".join(p["errors"])))
    total = len(product)
    print()
    print("recipes: %d; both accept %d, both refuse %d, refused without "
          "args %d, exceptions %d, false accepts %d, false rejects %d, "
          "no verdict %d" % (total, counts["accept-agree"],
                             counts["refuse-agree"], counts["refuse-no-args"],
                             counts["exception"], counts["false-accept"],
                             counts["false-reject"], counts["missing"]))
    for why, n in sorted(used.items()):
        print("exception (%d): %s" % (n, why))
    if seconds:
        seconds.sort()
        print("Megatron verdicts: %d, median %.3f s, max %.3f s" %
              (len(seconds), seconds[len(seconds) // 2], seconds[-1]))
    failed = counts["false-accept"] + counts["false-reject"] + \
        counts["missing"]
    print("conformance: %d passed, %d failed" % (total - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
