#!/usr/bin/env python3
"""Independent known-answer values for MS-RDPELE 5.1 (key derivation, MAC, RC4), computed with Python's hashlib
from the formulas of the specification. Regenerate: python3 licensing-kat.py > licensing-kat.json"""
import hashlib, json

def salted(s, i, a, b):
    return hashlib.md5(s + hashlib.sha1(i + s + a + b).digest()).digest()

def triple(s, a, b):
    return b"".join(salted(s, l, a, b) for l in (b"A", b"BB", b"CCC"))

def rc4(key, data):
    S = list(range(256)); j = 0
    for i in range(256):
        j = (j + S[i] + key[i % len(key)]) % 256; S[i], S[j] = S[j], S[i]
    i = j = 0; out = bytearray()
    for c in data:
        i = (i + 1) % 256; j = (j + S[i]) % 256; S[i], S[j] = S[j], S[i]
        out.append(c ^ S[(S[i] + S[j]) % 256])
    return bytes(out)

def mac(k, data):
    inner = hashlib.sha1(k + b"\x36" * 40 + len(data).to_bytes(4, "little") + data).digest()
    return hashlib.md5(k + b"\x5c" * 48 + inner).digest()

premaster = bytes(range(48))
client_random = bytes((0x10 + 3 * i) % 256 for i in range(32))
server_random = bytes((0xA0 + 7 * i) % 256 for i in range(32))
master = triple(premaster, client_random, server_random)
blob = triple(master, server_random, client_random)
mac_key = blob[:16]
enc_key = hashlib.md5(blob[16:32] + client_random + server_random).digest()
message = "TEST".encode("utf-16-le") + b"\x00\x00"
print(json.dumps({
    "premaster": premaster.hex(), "client_random": client_random.hex(), "server_random": server_random.hex(),
    "mac_salt_key": mac_key.hex(), "encryption_key": enc_key.hex(),
    "message": message.hex(), "rc4": rc4(enc_key, message).hex(), "mac": mac(mac_key, message).hex(),
}, indent=1))
