#!/usr/bin/python3
"""Full dump of a hive with hivex's Python bindings (Debian python3-hivex), in the format of
`cargo run -p regf --example regf-dump`: one "[path]" line per key (depth first, subkeys in list order), then one
line per value: the name as a JSON string, the REG_* number and the raw data in hex.

usage: hivex_dump.py HIVE [KEY]   (KEY: a path below the root, backslash-separated; the dump starts there)
"""
import json
import sys

import hivex


def main():
    h = hivex.Hivex(sys.argv[1])
    node = h.root()
    start = sys.argv[2] if len(sys.argv) > 2 else ""
    for part in [p for p in start.split("\\") if p]:
        node = h.node_get_child(node, part)
        if node is None:
            sys.exit(f"key not found: {start}")
    out = []
    stack = [(node, start)]
    while stack:
        n, path = stack.pop()
        out.append(f"[{path}]")
        for v in h.node_values(n):
            kind, data = h.value_value(v)
            name = h.value_key(v)
            out.append(f"{json.dumps(name, ensure_ascii=False)} {kind} {data.hex()}")
        children = h.node_children(n)
        for c in reversed(children):
            name = h.node_name(c)
            stack.append((c, f"{path}\\{name}" if path else name))
    sys.stdout.write("\n".join(out) + "\n")


main()
