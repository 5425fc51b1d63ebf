#!/usr/bin/env python3
"""Predicted peak memory of nam56r-launch plan against what Megatron's
pretrain_gpt.py measured on one GPU (tests/memory/gpu-cases.sh's logs).

Usage: compare_gpu.py LAUNCHER CASES.txt [LOGDIR]

For each case of CASES.txt (name|layers|hidden|heads|ffn|experts|topk|
moe_ffn|seq|micro|global|extra args) writes the recipe the hand-written
pretrain_gpt.py args correspond to (pattern AE tiled to 2 x layers, one
GPU, vocab 32000, transformer_impl local as the runs use; the extra args'
recompute and distributed optimizer as memory keys), runs plan --format json, and
prints per case the predicted static terms (weights, master, grads,
optimizer) and activation terms (activations, embedding, logits) in MiB;
with LOGDIR, beside them Megatron's "allocated" after iteration 2 (the
static state), "max allocated" (the peak) and its own theoretical
estimate, and the errors. The allowance is not compared: "max allocated"
counts only the caching allocator's tensors."""
import json
import os
import re
import subprocess
import sys
import tempfile

MIB = 1024 * 1024


def recipe(f):
    name, L, h, nh, ffn, E, k, fe, s, b, gbs, extra = f
    mem = ["  transformer_impl: local"]
    if "--use-distributed-optimizer" in extra:
        mem.append("  distributed_optimizer: true")
    m = re.search(r"--recompute-granularity (\w+)", extra)
    if m:
        mem.append("  recompute: " + m.group(1))
    m = re.search(r"--recompute-num-layers (\d+)", extra)
    if m:
        mem.append("  recompute_layers: " + m.group(1))
    moe = ""
    if int(E):
        moe = (f"  moe:\n    experts: {E}\n    topk: {k}\n"
               f"    ffn_hidden_size: {fe}\n")
    return (f"schema: 1\nmodel:\n  pattern: AE\n  depth: {2 * int(L)}\n"
            f"  hidden_size: {h}\n  ffn_hidden_size: {ffn}\n"
            f"  vocab_size: 32000\n  attention:\n    heads: {nh}\n{moe}"
            f"parallelism:\n  tp: 1\n  pp: 1\nbatch:\n"
            f"  micro_batch_size: {b}\n  global_batch_size: {gbs}\n"
            f"  seq_length: {s}\nruntime:\n  command: [python3, pretrain_gpt.py]\n"
            "memory:\n" + "\n".join(mem) + "\n")


def measured(logdir, name):
    path = os.path.join(logdir, name + ".log")
    if not os.path.exists(path):
        return None
    text = open(path, errors="replace").read()
    rows = re.findall(r"\(after (\d+) iterations\) memory \(MB\) \| allocated: "
                      r"([\d.]+) \| max allocated: ([\d.]+)", text)
    theo = re.search(r"weight and optimizer=([\d.]+) MB, activation=([\d.]+) MB", text)
    if not rows:
        return {"error": (text.strip().splitlines() or ["empty log"])[-1][:120]}
    it, alloc, peak = rows[-1]
    return {"iteration": int(it), "allocated": float(alloc) * MIB,
            "max_allocated": float(peak) * MIB,
            "megatron": (float(theo.group(1)) + float(theo.group(2))) * MIB
            if theo else None}


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    launcher, cases = sys.argv[1], sys.argv[2]
    logdir = sys.argv[3] if len(sys.argv) == 4 else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for line in open(cases):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            f = line.split("|", 11)
            path = os.path.join(tmp, f[0] + ".yaml")
            open(path, "w").write(recipe(f))
            p = subprocess.run([launcher, "plan", "--recipe", path, "--nodes",
                                "1", "--gpus-per-node", "1", "--format",
                                "json"], capture_output=True, text=True)
            if p.returncode:
                sys.exit(f"{f[0]}: plan failed: {p.stderr.strip()}")
            t = json.loads(p.stdout)["memory"]["ranks"][0]["terms_bytes"]
            rows.append((f[0], t, measured(logdir, f[0]) if logdir else None))
    print("| case | static pred | act pred | peak pred | static meas | peak meas "
          "| peak err | static err | act err | Megatron est | Megatron err |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    worst = 0
    for name, t, m in rows:
        st = t["weights"] + t["master"] + t["grads"] + t["optimizer"]
        act = t["activations"] + t["embedding"] + t["logits"]
        cells = [name, f"{st / MIB:.0f}", f"{act / MIB:.0f}", f"{(st + act) / MIB:.0f}"]
        if m and "error" not in m:
            ma, mp = m["allocated"], m["max_allocated"]
            err = (st + act) / mp - 1
            worst = max(worst, abs(err))
            cells += [f"{ma / MIB:.0f}", f"{mp / MIB:.0f}", f"{100 * err:+.1f}%",
                      f"{100 * (st / ma - 1):+.1f}%",
                      f"{100 * (act / (mp - ma) - 1):+.1f}%" if mp > ma else "-",
                      f"{m['megatron'] / MIB:.0f}" if m["megatron"] else "-",
                      f"{100 * (m['megatron'] / mp - 1):+.1f}%" if m["megatron"] else "-"]
        else:
            cells += [m["error"] if m else "-"] + ["-"] * 6
        print("| " + " | ".join(cells) + " |")
    if logdir:
        print(f"worst peak error: {100 * worst:.1f}%")


main()
