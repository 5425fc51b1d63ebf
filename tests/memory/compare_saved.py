#!/usr/bin/env python3
"""Predicted activations of one A + E pair (one GPT layer) against the
bytes Megatron's own layer saves on the CPU (saved_bytes.py, in the chroot).

Usage: compare_saved.py LAUNCHER CHROOT MEGATRON_DIR
Per case: the recipe (pattern AE, depth 2, pp 1, transformer_impl local)
through plan --format json gives the activations term (one microbatch);
the same configuration as pretrain_gpt.py args goes to saved_bytes.py.
The CPU's dropout keeps its masks in bf16 where CUDA keeps bool: the
measured figure is corrected by one byte per mask element (the attention
dropout's b heads s^2 and the two hidden dropouts' 2 T h); the causal
mask (s^2 bool, one tensor that every layer shares) is left out.
Exit status 1 when a case differs by more than 2%."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = [  # name, h, heads, ffn, experts, topk, moe_ffn, s, b
    ("dense", 256, 4, 1024, 0, 0, 0, 128, 2),
    ("moe-e8-k2", 256, 4, 1024, 8, 2, 256, 128, 2),
    ("moe-e16-k4", 512, 8, 2048, 16, 4, 384, 256, 1),
    ("dense-s512", 256, 4, 768, 0, 0, 0, 512, 1),
]


def gpt_args(c):
    _, h, nh, f, e, k, fe, s, b = c
    a = ["--transformer-impl", "local", "--num-layers", "1", "--hidden-size",
         str(h), "--num-attention-heads", str(nh), "--ffn-hidden-size", str(f),
         "--seq-length", str(s), "--max-position-embeddings", str(s),
         "--micro-batch-size", str(b), "--global-batch-size", str(b),
         "--mock-data", "--tokenizer-type", "NullTokenizer", "--vocab-size",
         "32000", "--bf16", "--lr", "1e-4", "--train-iters", "3",
         "--no-gradient-accumulation-fusion", "--no-masked-softmax-fusion",
         "--no-bias-dropout-fusion", "--no-persist-layer-norm",
         "--no-rope-fusion", "--position-embedding-type", "rope",
         "--normalization", "RMSNorm", "--swiglu", "--disable-bias-linear",
         "--untie-embeddings-and-output-weights"]
    if e:
        a += ["--num-experts", str(e), "--moe-router-topk", str(k),
              "--moe-ffn-hidden-size", str(fe), "--moe-token-dispatcher-type",
              "allgather", "--moe-router-load-balancing-type", "aux_loss",
              "--moe-aux-loss-coeff", "0.001"]
    return a


def recipe(c):
    _, h, nh, f, e, k, fe, s, b = c
    moe = (f"  moe:\n    experts: {e}\n    topk: {k}\n    ffn_hidden_size: {fe}\n"
           if e else "")
    return (f"schema: 1\nmodel:\n  pattern: AE\n  depth: 2\n  hidden_size: {h}\n"
            f"  ffn_hidden_size: {f}\n  vocab_size: 32000\n  attention:\n"
            f"    heads: {nh}\n{moe}batch:\n  micro_batch_size: {b}\n"
            f"  global_batch_size: {b}\n  seq_length: {s}\nruntime:\n"
            "  command: [python3, pretrain_gpt.py]\nmemory:\n"
            "  transformer_impl: local\n")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    launcher, chroot, megatron = sys.argv[1:]
    p = subprocess.run(["bash", os.path.join(HERE, "run-saved.sh"), chroot,
                        megatron],
                       input=json.dumps([{"name": c[0], "args": gpt_args(c)}
                                         for c in CASES]),
                       capture_output=True, text=True)
    if p.returncode:
        sys.exit("saved_bytes.py failed:\n" + p.stderr[-2000:])
    measured = json.loads(p.stdout)
    bad = 0
    print("| case | predicted B | measured B (CPU) | measured, CUDA masks | diff |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for c, m in zip(CASES, measured):
            path = os.path.join(tmp, c[0] + ".yaml")
            open(path, "w").write(recipe(c))
            q = subprocess.run([launcher, "plan", "--recipe", path, "--nodes",
                                "1", "--gpus-per-node", "1", "--format", "json"],
                               capture_output=True, text=True)
            if q.returncode:
                sys.exit(f"{c[0]}: plan failed: {q.stderr}")
            pred = json.loads(q.stdout)["memory"]["ranks"][0]["terms_bytes"]["activations"]
            _, h, nh, f, e, k, fe, s, b = c
            adj = m["saved_bytes"] - (b * nh * s * s + 2 * s * b * h) - s * s
            d = pred / adj - 1
            bad += abs(d) > 0.02
            print(f"| {c[0]} | {pred} | {m['saved_bytes']} | {adj} | {100 * d:+.2f}% |")
    sys.exit(1 if bad else 0)


main()
