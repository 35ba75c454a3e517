#!/usr/bin/python3
"""Builds a file-based Go module proxy from a checkout at one version.

    scripts/modproxy.py VERSION TREE PROXYDIR

For every module in TREE (tools/ excepted) it writes
PROXYDIR/<module>/@v/{list,VERSION.info,VERSION.mod,VERSION.zip} in the
layout `GOPROXY=file://PROXYDIR` reads. The zip follows the module zip rules
of golang.org/x/mod/zip: paths are <module>@<version>/<file>, directories
holding another go.mod (nested modules), vendor/ and dot-directories are left
out, only regular files are stored. Used by scripts/release.sh and
scripts/installtest.sh; the go command verifies each zip as it extracts it.
"""
import json, os, re, sys, zipfile

def main():
    version, tree, proxy = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    mods = []
    for d, dirs, files in os.walk(tree):
        dirs[:] = [x for x in dirs if not x.startswith(".") and x != "node_modules"]
        if "go.mod" in files and "/testdata" not in d[len(tree):]:
            rel = os.path.relpath(d, tree)
            if rel.split(os.sep)[0] != "tools":
                mods.append(d)
    modset = set(mods)
    for d in sorted(mods):
        gomod = open(os.path.join(d, "go.mod"), "rb").read()
        path = re.search(rb"^module\s+(\S+)", gomod, re.M).group(1).decode()
        out = os.path.join(proxy, path, "@v")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "list"), "a") as f:
            f.write(version + "\n")
        with open(os.path.join(out, version + ".info"), "w") as f:
            json.dump({"Version": version, "Time": "2026-01-01T00:00:00Z"}, f)
        with open(os.path.join(out, version + ".mod"), "wb") as f:
            f.write(gomod)
        with zipfile.ZipFile(os.path.join(out, version + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
            for sd, dirs, files in os.walk(d):
                keep = []
                for x in sorted(dirs):
                    full = os.path.join(sd, x)
                    if x.startswith(".") or x == "vendor" or x == "node_modules" or full in modset:
                        continue
                    if os.path.exists(os.path.join(full, "go.mod")):
                        continue
                    keep.append(x)
                dirs[:] = keep
                for fn in sorted(files):
                    full = os.path.join(sd, fn)
                    if os.path.islink(full) or not os.path.isfile(full):
                        continue
                    rel = os.path.relpath(full, d).replace(os.sep, "/")
                    z.write(full, f"{path}@{version}/{rel}")
        print(f"modproxy: {path}@{version}")

if __name__ == "__main__":
    main()
