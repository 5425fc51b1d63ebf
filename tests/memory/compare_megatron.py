#!/usr/bin/env python3
"""Predicted memory of nam56r-launch plan against Megatron's own estimator
(tests/memory/megatron_estimate.py) on GPT-like configurations (A and E
blocks only, which that estimator supports).

Usage: compare_megatron.py LAUNCHER MEGATRON_DIR [--table]
Checks that weights + master + grads + optimizer of pipeline rank 0 agree
with Megatron's weight_and_optimizer within 0.5% (the same formula: bf16
weights, fp32 grads, master and Adam, sharded by the distributed
optimizer), and that the activations (layers, embedding, logits) are
within a factor of 2 of Megatron's (its formula is Korthikanti's GPT
layer, which counts neither MoE dispatch nor the unfused score matrix);
prints the table with --table. Exit status 1 on a mismatch."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# name, world, model/parallel/batch fields
CASES = [
    ("dense-pp1", 1, dict(L=4, h=1024, heads=16, ffn=4096, E=0, k=2, fe=0,
                          V=32000, s=2048, b=2, gbs=2)),
    ("moe-pp1", 1, dict(L=4, h=1024, heads=16, ffn=4096, E=8, k=2, fe=1024,
                        V=32000, s=2048, b=2, gbs=2)),
    ("moe-tp2-ep2-distopt", 8, dict(L=4, h=1024, heads=16, ffn=4096, E=8,
                                    k=2, fe=1024, V=32768, s=2048, b=2,
                                    gbs=8, tp=2, ep=2, distopt=True)),
    ("dense-pp2-tp2", 8, dict(L=8, h=2048, heads=16, ffn=8192, E=0, k=2,
                              fe=0, V=32768, s=4096, b=1, gbs=16, tp=2,
                              pp=2)),
    ("gqa-tp4-distopt", 16, dict(L=4, h=2048, heads=16, groups=4, ffn=5632,
                                 E=0, k=2, fe=0, V=65536, s=4096, b=1,
                                 gbs=4, tp=4, distopt=True)),
    ("moe-shared-ep4-pp2", 8, dict(L=8, h=1024, heads=16, ffn=4096, E=16,
                                   k=4, fe=512, fs=1024, V=32768, s=2048,
                                   b=2, gbs=16, pp=2, ep=4, distopt=True)),
]


def recipe(c):
    pp = c.get("pp", 1)
    seg = ""
    if pp > 1:
        n = 2 * c["L"] // pp
        seg = "layout:\n  segments: [%s]\n" % ", ".join([str(n)] * pp)
    moe = ""
    if c["E"]:
        moe = "  moe:\n    experts: %d\n    topk: %d\n    ffn_hidden_size: %d\n" % (
            c["E"], c["k"], c["fe"])
        if c.get("fs"):
            moe += "    shared_expert_size: %d\n" % c["fs"]
    else:
        moe = ""
    groups = "    query_groups: %d\n" % c["groups"] if c.get("groups") else ""
    return f"""schema: 1
model:
  pattern: AE
  depth: {2 * c['L']}
  hidden_size: {c['h']}
  ffn_hidden_size: {c['ffn']}
  vocab_size: {c['V']}
  attention:
    heads: {c['heads']}
{groups}{moe}parallelism:
  tp: {c.get('tp', 1)}
  pp: {pp}
  ep: {c.get('ep', 1)}
  sequence_parallel: {'true' if c.get('tp', 1) > 1 else 'false'}
batch:
  micro_batch_size: {c['b']}
  global_batch_size: {c['gbs']}
  seq_length: {c['s']}
runtime:
  command: [python3, pretrain_gpt.py]
memory:
  distributed_optimizer: {'true' if c.get('distopt') else 'false'}
{seg}"""


def megatron_args(c, world):
    tp, pp, ep = c.get("tp", 1), c.get("pp", 1), c.get("ep", 1)
    a = dict(num_layers=c["L"], hidden_size=c["h"],
             num_attention_heads=c["heads"], kv_channels=c["h"] // c["heads"],
             ffn_hidden_size=c["ffn"], padded_vocab_size=c["V"],
             seq_length=c["s"], micro_batch_size=c["b"], world_size=world,
             tensor_model_parallel_size=tp, pipeline_model_parallel_size=pp,
             expert_model_parallel_size=ep,
             expert_tensor_parallel_size=c.get("etp", tp),
             data_parallel_size=world // (tp * pp),
             use_distributed_optimizer=bool(c.get("distopt")),
             sequence_parallel=tp > 1,
             num_microbatches=c["gbs"] // (c["b"] * (world // (tp * pp))))
    if c.get("groups"):
        a["num_query_groups"] = c["groups"]
    if c["E"]:
        a.update(num_experts=c["E"], moe_router_topk=c["k"],
                 moe_ffn_hidden_size=c["fe"])
        if c.get("fs"):
            a["moe_shared_expert_intermediate_size"] = c["fs"]
    return a


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.split("\n\n")[1])
    launcher, megatron = sys.argv[1], sys.argv[2]
    table = "--table" in sys.argv[3:]
    ours = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, world, c in CASES:
            path = os.path.join(tmp, name + ".yaml")
            with open(path, "w") as f:
                f.write(recipe(c))
            gpn = min(world, 8)
            p = subprocess.run([launcher, "plan", "--recipe", path,
                                "--nodes", str(world // gpn),
                                "--gpus-per-node", str(gpn),
                                "--format", "json"],
                               capture_output=True, text=True)
            if p.returncode:
                sys.exit(f"{name}: plan failed: {p.stderr.strip()}")
            ours.append(json.loads(p.stdout)["memory"]["ranks"][0])
    est = subprocess.run(
        [sys.executable, os.path.join(HERE, "megatron_estimate.py"), megatron],
        input=json.dumps([megatron_args(c, w) for _, w, c in CASES]),
        capture_output=True, text=True, check=True)
    theirs = json.loads(est.stdout)
    bad = 0
    mib = 1024 * 1024
    if table:
        print("| case | ours weights+opt MiB | Megatron MiB | diff | ours act MiB | Megatron act MiB | ratio |")
        print("|---|---|---|---|---|---|---|")
    for (name, _, _), o, t in zip(CASES, ours, theirs):
        tb = o["terms_bytes"]
        wo = tb["weights"] + tb["master"] + tb["grads"] + tb["optimizer"]
        act = tb["activations"] + tb["embedding"] + tb["logits"]
        d = wo / t["weight_and_optimizer"] - 1
        ratio = act / t["activation"]
        ok = abs(d) <= 0.005 and 0.5 <= ratio <= 2
        bad += not ok
        if table:
            print(f"| {name} | {wo / mib:.1f} | {t['weight_and_optimizer'] / mib:.1f} "
                  f"| {100 * d:+.2f}% | {act / mib:.1f} | {t['activation'] / mib:.1f} "
                  f"| {ratio:.2f} |")
        if not ok:
            print(f"{name}: weights+optimizer {wo:.0f} vs Megatron "
                  f"{t['weight_and_optimizer']:.0f} ({100 * d:+.2f}%), "
                  f"activations {act:.0f} vs {t['activation']:.0f} "
                  f"(ratio {ratio:.2f})", file=sys.stderr)
    sys.exit(1 if bad else 0)


main()
