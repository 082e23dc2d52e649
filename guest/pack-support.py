"""pack-support.py CORE_DIR LIB_DIR OUT_DIR: adds eryx's guest support modules to
the stdlib image.

Run by guest/add-support.sh with the build Python. Copies CORE_DIR/python313.zip to
OUT_DIR, appends each LIB_DIR/*.py as an unchecked hash-based .pyc (the same way
pack-stdlib.py stores the stdlib, so the image stays reproducible), and writes
OUT_DIR/manifest.json: the core's manifest plus the support files' hashes, and
OUT_DIR/python313.zip.sha256.
"""
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import zipfile

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("pack_stdlib", os.path.join(here, "pack-stdlib.py"))
pack_stdlib = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pack_stdlib)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    core, lib, out = sys.argv[1:]
    image = os.path.join(out, "python313.zip")
    shutil.copyfile(os.path.join(core, "python313.zip"), image)
    names = sorted(n for n in os.listdir(lib) if n.endswith(".py"))
    with zipfile.ZipFile(image, "a", zipfile.ZIP_STORED) as z:
        present = set(z.namelist())
        for name in names:
            arc = name + "c"
            if arc in present:
                sys.exit(f"pack-support: {arc} is already in the stdlib image")
            info = zipfile.ZipInfo(arc, pack_stdlib.DATE)
            info.external_attr = 0o644 << 16
            z.writestr(info, pack_stdlib.pyc(os.path.join(lib, name), arc[:-1]))
    with open(os.path.join(core, "manifest.json")) as f:
        manifest = json.load(f)
    manifest["support"] = {n: sha(os.path.join(lib, n)) for n in names}
    manifest["outputs"]["python313.zip"] = {"sha256": sha(image), "bytes": os.path.getsize(image)}
    # The runtime reads the image's hash from here (a snapshot's key includes it).
    with open(os.path.join(out, "python313.zip.sha256"), "w") as f:
        f.write(manifest["outputs"]["python313.zip"]["sha256"] + "\n")
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"added {len(names)} support modules -> {image}")


if __name__ == "__main__":
    main()
