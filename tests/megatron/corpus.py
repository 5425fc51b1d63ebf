#!/usr/bin/env python3
"""The conformance corpus: seeded, reproducible mutations of the NAM56R
recipe along every key that reaches a Megatron argument or rule, plus
hand-written edge cases.

    corpus.py [--seed S] [--count N] [--slice K] OUTDIR

writes OUTDIR/NNNN-NAME.yaml and OUTDIR/index.txt, one line a recipe:
"ID PATH NODES GPUS_PER_NODE" (the input of tests/megatron/n56-args).
--slice K keeps every recipe whose number is a multiple of
ceil(N / K), so that a fixed slice of K recipes stands for the whole.
Python's standard library only (runs on the build machine).
"""
import copy
import os
import random
import sys

# examples/nam56r.yaml as data (tests/megatron/conformance.sh compares the
# args of this base with those of the built-in recipe).
BASE = {
    "schema": 1,
    "model": {
        "pattern": "AEMEAEMEAEMR",
        "depth": 52,
        "hidden_size": 3584,
        "ffn_hidden_size": 9216,
        "vocab_size": 131072,
        "sparse_mode": "tilelang",
        "attention": {
            "heads": 56,
            "query_groups": 8,
            "mla": {"enabled": True, "q_lora_rank": 64, "kv_lora_rank": 64,
                    "qk_head_dim": 64, "qk_pos_emb_head_dim": 32,
                    "v_head_dim": 64},
            "dsa": {"a_layer_ranks": [1, 2, 3, 5, 6, 7, 9, 10, 11],
                    "indexer_heads": 8, "indexer_head_dim": 64,
                    "topk": 512, "backend": "tilelang"},
            "engram": {"a_layer_ranks": [0]},
            "mhc": True,
        },
        "mamba": {"heads": 56, "groups": 8, "state_dim": 128,
                  "head_dim": 64},
        "moe": {"experts": 16, "topk": 4, "ffn_hidden_size": 896,
                "shared_expert_size": 1024, "dispatcher": "alltoall",
                "grouped_gemm": True, "load_balancing": "aux_loss",
                "aux_loss_coeff": 0.001, "mod": True},
        "recurrent": {"mixer": "m2rnn", "state_dim": 128},
        "mtp": {"depths": 2, "pattern": "AE", "loss_scaling_factor": 0.1},
    },
    "parallelism": {"tp": 1, "pp": 2, "vpp": 2, "ep": 1, "etp": 1, "cp": 1,
                    "sequence_parallel": False,
                    "rank_order": "tp-cp-ep-dp-pp"},
    "batch": {"micro_batch_size": 4, "global_batch_size": 64,
              "seq_length": 4096},
    "runtime": {
        "command": ["python3", "pretrain_hybrid.py"],
        "cuda_graphs": {"impl": "transformer_engine",
                        "modules": ["attn", "mamba", "moe_router",
                                    "moe_preprocess"],
                        "warmup_steps": 3},
        "seams": ["recurrent_tail", "mtp_native_hopper_ce",
                  "hybrid_schedule_plan", "mla_shared_spec"],
        "extra_args": [],
    },
    "memory": {"distributed_optimizer": True},
    "env": {"TORCH_NCCL_AVOID_RECORD_STREAMS": "1"},
}

# ---- a small YAML emitter (block style, what the recipe parser reads) ----


def scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def emit(d, indent=0):
    out = []
    pad = "  " * indent
    for k, v in d.items():
        if isinstance(v, dict) and not v:
            continue  # a section whose only key was removed
        if isinstance(v, dict):
            out.append("%s%s:" % (pad, k))
            out.extend(emit(v, indent + 1))
        elif isinstance(v, list):
            out.append("%s%s: [%s]" % (pad, k, ", ".join(scalar(x)
                                                          for x in v)))
        else:
            out.append("%s%s: %s" % (pad, k, scalar(v)))
    return out


def setpath(d, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    if value is DELETE:
        d.pop(keys[-1], None)
    else:
        d[keys[-1]] = value


DELETE = object()

# ---- the axes: every key that reaches an argument or a rule --------------
# Each axis is (name, [(label, {path: value, ...}), ...]); a value of
# DELETE removes the key (the default then applies).
PATTERNS = [
    ("nam56r", "AEMEAEMEAEMR", 52), ("nam56r24", "AEMEAEMEAEMR", 24),
    ("aeme24", "AEME", 24), ("meme16", "MEME", 16), ("ae8", "AE", 8),
    ("aem12", "AEM", 12), ("me8", "ME", 8), ("a4", "A", 4), ("m4", "M", 4),
    ("e4", "E", 4), ("aemr8", "AEMR", 8), ("aaee8", "AAEE", 8),
    ("mmma8", "MMMA", 8), ("aeme6", "AEME", 6), ("r4", "R", 4),
]

AXES = [
    ("tp", [(str(v), {"parallelism.tp": v}) for v in (1, 2, 4, 8, 3, 16)]),
    ("pp", [(str(v), {"parallelism.pp": v}) for v in (1, 2, 3, 4, 8)]),
    ("vpp", [(str(v), {"parallelism.vpp": v}) for v in (1, 2, 3, 4)]),
    ("ep", [(str(v), {"parallelism.ep": v}) for v in (1, 2, 4, 8, 16, 3)]),
    ("etp", [(str(v), {"parallelism.etp": v}) for v in (1, 2, 4)]),
    ("cp", [(str(v), {"parallelism.cp": v}) for v in (1, 2, 4)]),
    ("sp", [(str(v).lower(), {"parallelism.sequence_parallel": v})
            for v in (True, False)]),
    ("order", [(v[:8], {"parallelism.rank_order": v})
               for v in ("tp-cp-ep-dp-pp", "tp-cp-ep-pp-dp")]),
    ("cpcomm", [(v.replace("+", ""), {"parallelism.cp_comm_type": v})
                for v in ("p2p", "a2a", "allgather", "a2a+p2p")]),
    ("mb", [(str(v), {"batch.micro_batch_size": v})
            for v in (1, 2, 3, 4, 8)]),
    ("gb", [(str(v), {"batch.global_batch_size": v})
            for v in (8, 16, 24, 32, 48, 64, 96, 128, 256, 60)]),
    ("seq", [(str(v), {"batch.seq_length": v})
             for v in (1024, 2048, 4096, 8192, 4095, 1000)]),
    ("mla", [(str(v).lower(), {"model.attention.mla.enabled": v})
             for v in (True, False)]),
    ("dsa", [("off", {"model.attention.dsa.a_layer_ranks": []}),
             ("first", {"model.attention.dsa.a_layer_ranks": [0]}),
             ("all", {"model.attention.dsa.a_layer_ranks":
                      list(range(13))}),
             ("none-key", {"model.attention.dsa": DELETE})]),
    ("dsabackend", [(v, {"model.attention.dsa.backend": v})
                    for v in ("none", "tilelang", "cudnn")]),
    ("engram", [("off", {"model.attention.engram.a_layer_ranks": []}),
                ("two", {"model.attention.engram.a_layer_ranks": [1, 2]})]),
    ("mtp", [(str(v), {"model.mtp.depths": v}) for v in (0, 1, 2, 3)]),
    ("mtppat", [(v, {"model.mtp.pattern": v})
                for v in ("AE", "A", "E", "M", "MM")]),
    ("pattern", [(n, {"model.pattern": p, "model.depth": dep})
                 for n, p, dep in PATTERNS]),
    ("hidden", [(str(v), {"model.hidden_size": v})
                for v in (3584, 4096, 2048, 1000)]),
    ("heads", [(str(v), {"model.attention.heads": v})
               for v in (56, 32, 64, 28, 16)]),
    ("groups", [(str(v), {"model.attention.query_groups": v})
                for v in (8, 4, 1, 56, 2)]),
    ("kvch", [("unset", {"model.attention.kv_channels": DELETE}),
              ("64", {"model.attention.kv_channels": 64}),
              ("128", {"model.attention.kv_channels": 128})]),
    ("mamba", [("%d-%d" % (h, g), {"model.mamba.heads": h,
                                   "model.mamba.groups": g})
               for h, g in ((56, 8), (64, 8), (32, 4), (56, 7), (48, 16))]),
    ("experts", [(str(v), {"model.moe.experts": v})
                 for v in (16, 8, 4, 1, 64)]),
    ("topk", [(str(v), {"model.moe.topk": v}) for v in (1, 2, 4, 8)]),
    ("dispatcher", [(v, {"model.moe.dispatcher": v})
                    for v in ("alltoall", "allgather", "flex")]),
    ("ggemm", [(str(v).lower(), {"model.moe.grouped_gemm": v})
               for v in (True, False)]),
    ("lb", [(v, {"model.moe.load_balancing": v})
            for v in ("aux_loss", "none", "seq_aux_loss", "sinkhorn")]),
    ("auxcoeff", [(v, {"model.moe.aux_loss_coeff": float(v)})
                  for v in ("0.0", "0.01")]),
    ("shared", [("unset", {"model.moe.shared_expert_size": DELETE}),
                ("512", {"model.moe.shared_expert_size": 512})]),
    ("score", [(v, {"model.moe.router_score_function": v})
               for v in ("softmax", "sigmoid")]),
    ("presoftmax", [(str(v).lower(), {"model.moe.router_pre_softmax": v})
                    for v in (True, False)]),
    ("cgimpl", [(v, {"runtime.cuda_graphs.impl": v})
                for v in ("none", "local", "transformer_engine",
                          "full_iteration")]),
    ("cgmod", [("-".join(m) or "empty", {"runtime.cuda_graphs.modules": m})
               for m in ([], ["attn"], ["mamba"], ["moe"], ["moe_router"],
                         ["moe_router", "moe_preprocess"],
                         ["moe_preprocess"], ["attn", "moe"],
                         ["attn", "mamba", "moe_router", "moe_preprocess"],
                         ["mlp"])]),
    ("posemb", [(v, {"model.position_embedding": v})
                for v in ("rope", "none", "learned_absolute", "yarn")]),
    ("bias", [(str(v).lower(), {"model.linear_bias": v})
              for v in (True, False)]),
    ("ropefusion", [(str(v).lower(), {"model.rope_fusion": v})
                    for v in (True, False)]),
    ("segments", [("-".join(map(str, v)) or "unset",
                   {"layout.segments": v if v else DELETE})
                  for v in ([], [13, 13, 13, 13], [20, 6, 20, 6],
                            [26, 26], [10, 10, 10, 10], [52, 0, 0, 0],
                            [1, 1, 1, 49])]),
    ("cdmc", [(v or "unset", {"env.CUDA_DEVICE_MAX_CONNECTIONS":
                              v if v else DELETE}) for v in ("", "1", "8")]),
    ("allocconf", [("expandable", {"env.PYTORCH_CUDA_ALLOC_CONF":
                                   "expandable_segments:True"})]),
    ("extra", [(n, {"runtime.extra_args": v}) for n, v in (
        ("seed", ["--seed", "1234"]),
        ("dropout", ["--hidden-dropout", "0.0", "--attention-dropout",
                     "0.0"]),
        ("unknown", ["--no-such-flag"]),
        ("numlayers", ["--num-layers", "52"]),
        ("bf16", ["--bf16"]),
        ("tp-again", ["--tensor-model-parallel-size", "2"]),
        ("vpp", ["--virtual-pipeline-model-parallel-size", "2"]),
        ("gqa", ["--group-query-attention"]),
        ("swiglu", ["--swiglu"]))]),
    ("mtpscale", [(v, {"model.mtp.loss_scaling_factor": float(v)})
                  for v in ("0.1", "1.0")]),
    ("mhc", [(str(v).lower(), {"model.attention.mhc": v})
             for v in (True, False)]),
    ("mod", [(str(v).lower(), {"model.moe.mod": v}) for v in (True, False)]),
    ("sparse", [(v, {"model.sparse_mode": v})
                for v in ("tilelang", "gather_scatter", "none")]),
    ("seams", [("none", {"runtime.seams": []}),
               ("rtail", {"runtime.seams": ["recurrent_tail"]})]),
    ("ffn", [(str(v), {"model.ffn_hidden_size": v if v else DELETE})
             for v in (0, 9216, 4096)]),
    ("mlaranks", [("q%d-kv%d" % (q, k), {"model.attention.mla.q_lora_rank":
                                         q, "model.attention.mla.kv_lora_rank":
                                         k}) for q, k in ((64, 64), (1536, 512),
                                                          (32, 16))]),
    ("dsaidx", [("h%d-t%d" % (h, t), {"model.attention.dsa.indexer_heads": h,
                                      "model.attention.dsa.topk": t})
                for h, t in ((8, 512), (64, 2048), (4, 64))]),
    # The memory knobs reach Megatron's recompute, optimizer, attention
    # backend and transformer implementation flags.
    ("recompute", [("none", {"memory.recompute": "none"}),
                   ("selective", {"memory.recompute": "selective"}),
                   ("full", {"memory.recompute": "full"}),
                   ("full2", {"memory.recompute": "full",
                              "memory.recompute_layers": 2}),
                   ("full13", {"memory.recompute": "full",
                               "memory.recompute_layers": 13})]),
    ("distopt", [(str(v).lower(), {"memory.distributed_optimizer": v})
                 for v in (True, False)]),
    ("attnbackend", [(v, {"memory.attention_backend": v})
                     for v in ("auto", "flash", "fused", "unfused",
                               "local")]),
    ("timpl", [(v, {"memory.transformer_impl": v})
               for v in ("transformer_engine", "local")]),
    ("world", [("%dx%d" % nw, {"@nodes": nw[0], "@gpus": nw[1]})
               for nw in ((1, 8), (2, 8), (4, 8), (8, 8), (1, 4), (1, 2),
                          (1, 1), (2, 4), (16, 8))]),
]

# Hand-written edge cases: (name, {path: value}) on the base.
EDGES = [
    ("builtin-1x8", {}),
    ("builtin-2x8", {"@nodes": 2}),
    ("builtin-4x8", {"@nodes": 4}),
    ("m-equals-group", {"batch.global_batch_size": 32, "@nodes": 2}),
    ("m3-interleaved", {"batch.micro_batch_size": 1,
                        "batch.global_batch_size": 12,
                        "parallelism.tp": 1, "@nodes": 1, "@gpus": 8,
                        "parallelism.pp": 2}),
    ("dsa-cp2", {"parallelism.cp": 2, "@nodes": 2}),
    ("dsa-cp2-allgather", {"parallelism.cp": 2, "@nodes": 2,
                           "parallelism.cp_comm_type": "allgather"}),
    ("dense-gpt", {"model.pattern": "A", "model.depth": 8,
                   "model.mtp.depths": 0, "model.attention.mla.enabled":
                   False, "model.attention.dsa.a_layer_ranks": [],
                   "model.attention.engram.a_layer_ranks": [],
                   "runtime.cuda_graphs.impl": "none",
                   "runtime.seams": []}),
    ("moe-top1", {"model.moe.topk": 1}),
    ("moe-top1-presoftmax", {"model.moe.topk": 1,
                             "model.moe.router_pre_softmax": True}),
    ("bias-etp2", {"model.linear_bias": True, "parallelism.etp": 2,
                   "model.attention.dsa.a_layer_ranks": [],
                   "@nodes": 2}),
    ("hidden-not-div-heads", {"model.hidden_size": 1000,
                              "model.attention.mla.enabled": False,
                              "model.attention.dsa.a_layer_ranks": []}),
    ("hidden-not-div-heads-kv", {"model.hidden_size": 1000,
                                 "model.attention.kv_channels": 64,
                                 "model.attention.mla.enabled": False,
                                 "model.attention.dsa.a_layer_ranks": []}),
    ("full-iteration", {"runtime.cuda_graphs.impl": "full_iteration",
                        "runtime.cuda_graphs.modules": []}),
    ("tp8-sp", {"parallelism.tp": 8, "parallelism.sequence_parallel": True,
                "@nodes": 2}),
    ("ep16", {"parallelism.ep": 16, "@nodes": 2}),
    ("pp4-vpp2-8x8", {"parallelism.pp": 4, "@nodes": 8}),
    ("full-recompute-distopt-2x8", {"memory.recompute": "full",
                                    "memory.distributed_optimizer": True,
                                    "@nodes": 2}),
    ("selective-unfused", {"memory.recompute": "selective",
                           "memory.attention_backend": "unfused"}),
    ("dense-gpt-local", {"model.pattern": "AE", "model.depth": 8,
                         "model.mtp.depths": 0,
                         "model.attention.mla.enabled": False,
                         "model.attention.dsa.a_layer_ranks": [],
                         "model.attention.engram.a_layer_ranks": [],
                         "runtime.cuda_graphs.impl": "none",
                         "runtime.seams": [],
                         "memory.transformer_impl": "local",
                         "memory.recompute": "full",
                         "memory.distributed_optimizer": True}),
]


def mutate(rng):
    """One recipe: the base with 1 to 3 axes changed."""
    k = rng.choice((1, 1, 2, 2, 3))
    axes = rng.sample(AXES, k)
    changes = {}
    labels = []
    for name, choices in axes:
        label, change = rng.choice(choices)
        changes.update(change)
        labels.append("%s-%s" % (name, label))
    return "_".join(labels), changes


def build(changes):
    r = copy.deepcopy(BASE)
    nodes, gpus = 1, 8
    for path, value in changes.items():
        if path == "@nodes":
            nodes = value
        elif path == "@gpus":
            gpus = value
        else:
            setpath(r, path, value)
    fit_ordinals(r, changes)
    return r, nodes, gpus


def fit_ordinals(r, changes):
    """A new pattern keeps the DSA and Engram ordinals that still name an
    A layer (a wrong ordinal is the parser's unit tests' business)."""
    m = r["model"]
    if "model.pattern" not in changes:
        return
    pattern, depth = m["pattern"], m["depth"]
    na = sum(1 for i in range(depth) if pattern[i % len(pattern)] == "A")
    at = m["attention"]
    for key in ("dsa", "engram"):
        sub = at.get(key)
        if isinstance(sub, dict) and "model.attention.%s.a_layer_ranks" \
                % key not in changes:
            sub["a_layer_ranks"] = [x for x in sub.get("a_layer_ranks", [])
                                    if x < na]


def main(argv):
    seed, count, keep, outdir = 56, 520, None, None
    it = iter(argv)
    for a in it:
        if a == "--seed":
            seed = int(next(it))
        elif a == "--count":
            count = int(next(it))
        elif a == "--slice":
            keep = int(next(it))
        elif a in ("-h", "--help"):
            sys.stdout.write(__doc__)
            return 0
        elif outdir is None:
            outdir = a
        else:
            sys.stderr.write(__doc__)
            return 2
    if outdir is None:
        sys.stderr.write(__doc__)
        return 2
    rng = random.Random(seed)
    items = [("edge-" + n, c) for n, c in EDGES]
    seen = set()
    while len(items) < count:
        name, changes = mutate(rng)
        key = repr(sorted((k, repr(v)) for k, v in changes.items()))
        if key in seen:
            continue
        seen.add(key)
        items.append((name, changes))
    step = 1 if not keep else max(1, -(-len(items) // keep))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "index.txt"), "w") as index:
        for i, (name, changes) in enumerate(items):
            if i % step:
                continue
            r, nodes, gpus = build(changes)
            rid = "%04d-%s" % (i, name)[:120]
            path = os.path.join(outdir, rid + ".yaml")
            with open(path, "w") as f:
                f.write("# corpus %s (seed %d)\n" % (rid, seed))
                f.write("\n".join(emit(r)) + "\n")
            index.write("%s %s %d %d\n" % (rid, path, nodes, gpus))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
