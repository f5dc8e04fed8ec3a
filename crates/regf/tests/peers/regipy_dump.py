#!/usr/bin/env python3
"""regipy's reading of a hive, as JSON lines, for the regf tests (run with the Python of the venv that holds
regipy: scripts/test exports it as RDLIC_REGIPY_PYTHON).

  regipy_dump.py dump HIVE KEY      every value of KEY and of the keys below it:
                                    {"key": path, "name": name, "type": "REG_SZ", "value": {...}}
  regipy_dump.py get HIVE < PAIRS   PAIRS is a JSON list of [key, value name]; prints one JSON line per pair,
                                    null when the key or the value is absent
  regipy_dump.py keys HIVE KEY      the paths of KEY and of every key below it, one per line

Values: {"s": text} for strings, {"n": number}, {"m": [strings]}, {"b": hex} for bytes, {"o": repr} otherwise.
Key paths are below the hive's root, backslash-separated, without a leading backslash.
"""
import json
import sys

from regipy.exceptions import RegistryKeyNotFoundException
from regipy.registry import RegistryHive


def norm(v):
    if isinstance(v, bool):
        return {"o": repr(v)}
    if isinstance(v, int):
        return {"n": v}
    if isinstance(v, str):
        return {"s": v}
    if isinstance(v, (bytes, bytearray)):
        return {"b": bytes(v).hex()}
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return {"m": v}
    return {"o": repr(v)}


def values(nk):
    for v in nk.iter_values(as_json=False, trim_values=False) or []:
        name = "" if v.name == "(default)" else v.name
        yield name, str(v.value_type), norm(v.value)


def get_key(h, path):
    return h.get_key("\\" + path if path else "\\")


def walk(nk, path):
    yield path, nk
    if nk.subkey_count:
        for sub in nk.iter_subkeys():
            yield from walk(sub, f"{path}\\{sub.name}" if path else sub.name)


def main():
    mode, hive = sys.argv[1], RegistryHive(sys.argv[2])
    out = sys.stdout
    if mode == "dump":
        for path, nk in walk(get_key(hive, sys.argv[3]), sys.argv[3]):
            for name, kind, value in values(nk):
                out.write(json.dumps({"key": path, "name": name, "type": kind, "value": value}) + "\n")
    elif mode == "keys":
        for path, _ in walk(get_key(hive, sys.argv[3]), sys.argv[3]):
            out.write(path + "\n")
    elif mode == "get":
        for key, name in json.load(sys.stdin):
            try:
                nk = get_key(hive, key)
            except RegistryKeyNotFoundException:
                out.write("null\n")
                continue
            found = [v for v in values(nk) if v[0].lower() == name.lower()]
            out.write(json.dumps(found[0][1:] if found else None) + "\n")
    else:
        sys.exit(f"unknown mode {mode}")


main()
