#!/usr/bin/env python3
"""Checks what every rank of a job saw against `nam56r-launch plan --format json`.

usage: check_ranks.py PLAN_JSON OUT_DIR --nodes n1,n2 --gpn 8
                      [--runtime NAME] [--sha256 HEX] [--env NAME=VALUE]...

OUT_DIR holds one file per rank written by n56-echo-runtime
(<hostname>.<rank>.txt: "argc N", N argv lines, "envc M", M env lines).
Each rank must have: argv = runtime + the plan's generated_native_args (+ each
--append) and nothing else; the per-rank env of spank_nam56r(8) with the plan's placement values;
the plan's fixed policy and patch surface; the plan's plan_sha256 as
NAM56R_PLAN_SHA256; the carried recipe's sha256 (when --sha256 is given, also
the plan's recipe.sha256); every --env NAME=VALUE. With --hostnames, the file's
hostname must be the placed node (network-namespace mode).
Prints one line per problem (at most 20) and exits 1 when there is any."""
import argparse
import json
import os
import re
import sys


def read_rank_file(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    m = re.fullmatch(r"argc (\d+)", lines[0])
    if not m:
        raise ValueError(f"{path}: first line is not 'argc N'")
    argc = int(m.group(1))
    argv = lines[1:1 + argc]
    m = re.fullmatch(r"envc (\d+)", lines[1 + argc])
    if not m:
        raise ValueError(f"{path}: no 'envc M' line after argv")
    envc = int(m.group(1))
    env = {}
    for line in lines[2 + argc:2 + argc + envc]:
        k, _, v = line.partition("=")
        env[k] = v
    return argv, env


def as_env_value(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, list):
        return ",".join(as_env_value(x) for x in v)
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("outdir")
    ap.add_argument("--nodes", required=True)
    ap.add_argument("--gpn", type=int, required=True)
    ap.add_argument("--runtime", default="n56-echo-runtime")
    ap.add_argument("--sha256")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--hostnames", action="store_true")
    ap.add_argument("--append", action="append", default=[],
                    help="an argument expected after the generated ones")
    a = ap.parse_args()

    with open(a.plan, encoding="utf-8") as f:
        plan = json.load(f)
    nodes = a.nodes.split(",")
    gen = plan["generated_native_args"]
    world = plan["parallel"]["world"]
    placement = {p["rank"]: p for p in plan["placement"]}
    problems = []

    def bad(msg):
        problems.append(msg)

    files = {}
    for name in os.listdir(a.outdir):
        m = re.fullmatch(r"(.+)\.(\d+)\.txt", name)
        if m:
            files[int(m.group(2))] = (m.group(1), os.path.join(a.outdir, name))
    if sorted(files) != list(range(world)):
        bad(f"rank files {sorted(files)} != ranks 0..{world - 1}")
    if world != len(nodes) * a.gpn:
        bad(f"plan world {world} != {len(nodes)} nodes x {a.gpn}")

    plan_shas = set()
    for rank in sorted(files):
        host, path = files[rank]
        try:
            argv, env = read_rank_file(path)
        except (OSError, ValueError, IndexError) as e:
            bad(f"rank {rank}: {e}")
            continue
        p = placement.get(rank)
        if p is None:
            bad(f"rank {rank}: not in the plan's placement")
            continue
        want_argv = [a.runtime] + gen + a.append
        if argv != want_argv:
            i = next((i for i, (x, y) in enumerate(zip(argv, want_argv))
                      if x != y), min(len(argv), len(want_argv)))
            got = argv[i] if i < len(argv) else "(end)"
            exp = want_argv[i] if i < len(want_argv) else "(end)"
            bad(f"rank {rank}: argv[{i}] is {got!r}, want {exp!r} "
                f"(argc {len(argv)}, want {len(want_argv)})")
        node = p["node"]
        node_name = nodes[node] if isinstance(node, int) else node
        node_idx = nodes.index(node_name) if node_name in nodes else -1
        if a.hostnames and host != node_name:
            bad(f"rank {rank}: ran on {host}, placed on {node_name}")
        want = {
            "RANK": rank, "WORLD_SIZE": world,
            "LOCAL_RANK": p["local_rank"], "LOCAL_WORLD_SIZE": a.gpn,
            "GROUP_RANK": node_idx,
            "MASTER_ADDR": nodes[0],
            "NAM56R_TP_RANK": p["tp"], "NAM56R_CP_RANK": p["cp"],
            "NAM56R_EP_RANK": p["ep"], "NAM56R_DP_RANK": p["dp"],
            "NAM56R_PP_RANK": p["pp"], "NAM56R_ISLAND": p["island"],
        }
        for k, v in plan.get("fixed_policy", {}).items():
            want[k] = v
        for k, v in plan.get("patch_surface", {}).items():
            want[k] = v
        if a.sha256:
            want["SLURM_SPANK_NAM56R_RECIPE_SHA256"] = a.sha256
        for kv in a.env:
            k, _, v = kv.partition("=")
            want[k] = v
        for k, v in want.items():
            if env.get(k) != as_env_value(v):
                bad(f"rank {rank}: {k}={env.get(k)!r}, want {as_env_value(v)!r}")
        if not re.fullmatch(r"\d+", env.get("MASTER_PORT", "")):
            bad(f"rank {rank}: MASTER_PORT={env.get('MASTER_PORT')!r}")
        plan_shas.add(env.get("NAM56R_PLAN_SHA256"))
        cvd = env.get("CUDA_VISIBLE_DEVICES", "").split(",")
        lr = p["local_rank"]
        # torch.cuda.set_device(LOCAL_RANK) must select the placed GPU.
        if lr >= len(cvd) or cvd[lr] != str(p["gpu"]):
            bad(f"rank {rank}: CUDA_VISIBLE_DEVICES={','.join(cvd)} with "
                f"LOCAL_RANK {lr} does not select GPU {p['gpu']}")
    # The compute side built the very plan `nam56r-launch plan` built here.
    if "plan_sha256" in plan:
        if plan_shas != {plan["plan_sha256"]}:
            bad(f"NAM56R_PLAN_SHA256 on the ranks {sorted(map(str, plan_shas))}"
                f" != the plan's {plan['plan_sha256']}")
    elif len(plan_shas) != 1 or not re.fullmatch(r"[0-9a-f]{64}",
                                                 next(iter(plan_shas)) or ""):
        bad(f"NAM56R_PLAN_SHA256 not one sha256 on all ranks: {plan_shas}")
    recipe_sha = plan.get("recipe", {}).get("sha256")
    if a.sha256 and recipe_sha and recipe_sha != a.sha256:
        bad(f"the plan was made from content {recipe_sha}, not the "
            f"submitted {a.sha256}")
    for msg in problems[:20]:
        print(msg)
    if len(problems) > 20:
        print(f"... {len(problems) - 20} more")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
