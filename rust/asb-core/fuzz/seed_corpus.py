#!/usr/bin/env python3
"""Writes the seed corpus for the fuzz targets into corpus/<target>/ (kept out of git).

Seeds: the upstream vectors plus hand-made inputs covering escapes, compact blobs, UDF and
index lines, every bin type, keys, versions 3.0 to 3.3 and values spanning lines.
"""
import glob
import hashlib
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "../../../../shared/vectors/tools-backup/test")

H = b"Version 3.1\n# namespace test\n# first-file\n"
REC = b"+ n test\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ g 1\n+ t 0\n"

def rec(bins, key=b"", set_=b"", ns=b"test"):
    lines = key + b"+ n " + ns + b"\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n" + set_
    lines += b"+ g 1\n+ t 0\n+ b %d\n" % len(bins)
    return lines + b"".join(bins)

SEEDS = [
    H,
    b"Version 3.0\n# namespace te\\st\n" + rec([b"- S a\\b 3 x y\n"], ns=b"te\\st"),
    b"Version 3.2\n# namespace test\n* e test demo idx N 1 bin N AAEC\n",
    b"Version 3.3\n# namespace test\n* i test demo sidx S 1  E\n",
    H + b"* i ns set idx N 1 bin S\n",
    H + b"* i ns set idx L 2 a S b N\n",
    H + b"* i n\\ s s\\\\et i\\\ndx K 1 b\\ in G ctx\\ base64\n",
    H + b"* i test  idx_tags V 1 tags B\n",
    H + b"* u L f.lua 3 a\nb\n",
    H + b"* u L my\\ f.lua 0 \n",
    H + rec([b"- B! n 3 a\nb\n"]),
    H + rec([b"- B n 8 AAECAw==\n", b"- M m 8 gaFrAQ==\n", b"- L l 8 kqFhoWI=\n"]),
    H + rec([b"- J! j 2 \x00\xff\n", b"- C c 4 AAAA\n", b"- P p 0 \n", b"- R! r 1 \n\n",
             b"- H h 4 AA==\n", b"- E e 4 AAE=\n", b"- Y y 4 AAEC\n"]),
    H + rec([b"- N gone\n", b"- Z t T\n", b"- Z f F\n", b"- I i -9223372036854775808\n",
             b"- D d 0.10000000000000001\n", b"- D n -nan\n", b"- D i +Inf\n",
             b"- D e 1.5e-300\n"]),
    H + rec([b"- S my\\ bin 0 \n", b"- S s 5 a b\nc\n", b"- X x 8 YWJjZA==\n",
             b"- G g 36 {\"type\":\"Point\",\"coordinates\":[1,2]}\n"]),
    H + rec([b"- I v 1\n"], key=b"+ k I -42\n", set_=b"+ s demo\n"),
    H + rec([b"- I v 1\n"], key=b"+ k D 2.5\n"),
    H + rec([b"- I v 1\n"], key=b"+ k S 5 a\nb c\n"),
    H + rec([b"- I v 1\n"], key=b"+ k X 4 YWJj\n"),
    H + rec([b"- I v 1\n"], key=b"+ k B 4 AAE=\n"),
    H + rec([b"- I v 1\n"], key=b"+ k B! 4 \x00\xffab\n", set_=b"+ s s\\ e\\\\t\n"),
    H + rec([b"- N \\ \\\n\\\\\n"]),
    H + rec([]) + rec([b"- I a 1\n"]),
]

def window_seeds(seeds):
    """`window` inputs: version byte, 2-byte edge offset, then the text after the header."""
    out = []
    for s in seeds:
        if not s.startswith(b"Version 3."):
            continue
        version = s[10] - ord("0")
        body = s[s.index(b"\n") + 1:]
        while body.startswith(b"# "):
            body = body[body.index(b"\n") + 1:]
        if not body:
            continue
        for k in (0, len(body) // 3, len(body) // 2, len(body) - 1):
            out.append(bytes([version]) + k.to_bytes(2, "little") + body)
    return out


def json_seeds(seeds):
    """`json` inputs: the JSON lines `asbkit convert` writes for the seeds (needs asbkit)."""
    try:
        from asbkit import _codec
    except ImportError:
        print("asbkit is not installed: no seeds for the json target", file=sys.stderr)
        return []
    out = []
    for s in seeds:
        buf = io.BytesIO()
        try:
            _codec.asb_to_jsonl([io.BytesIO(s)], buf)
        except Exception:
            continue
        out.extend(line for line in buf.getvalue().split(b"\n") if line)
    return out


def main():
    seeds = list(SEEDS)
    for path in sorted(glob.glob(os.path.join(VECTORS, "*.asb"))):
        with open(path, "rb") as f:
            seeds.append(f.read())
    # `mapped` takes the same input form as `window`.
    per_target = {
        "read": seeds,
        "roundtrip": seeds,
        "window": window_seeds(seeds),
        "mapped": window_seeds(seeds),
        "json": json_seeds(seeds),
    }
    for target, inputs in per_target.items():
        out = os.path.join(HERE, "corpus", target)
        os.makedirs(out, exist_ok=True)
        for s in inputs:
            name = hashlib.sha1(s).hexdigest()
            with open(os.path.join(out, name), "wb") as f:
                f.write(s)
    print(f"{len(seeds)} seeds per target", file=sys.stderr)

if __name__ == "__main__":
    main()
