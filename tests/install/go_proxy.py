"""Writes a Go module the way a module proxy serves it, for GOPROXY=file://...

    go_proxy.py MODULE_DIR MODULE_PATH VERSION PROXY_DIR

writes PROXY_DIR/MODULE_PATH/@v/{list, VERSION.info, VERSION.mod, VERSION.zip}
(the zip holds MODULE_DIR's files under MODULE_PATH@VERSION/, as `go mod
download` expects). Module paths with capital letters would need the proxy's
!-escaping; Net's has none.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sys
import zipfile


def main() -> None:
    module_dir, path, version, proxy = sys.argv[1:5]
    if path.lower() != path:
        sys.exit(f"go_proxy.py: {path} has capital letters (not supported here)")
    out = os.path.join(proxy, *path.split("/"), "@v")
    os.makedirs(out, exist_ok=True)
    prefix = f"{path}@{version}/"
    with zipfile.ZipFile(os.path.join(out, f"{version}.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for dirpath, dirnames, filenames in os.walk(module_dir):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, module_dir).replace(os.sep, "/")
                z.write(full, prefix + rel)
    shutil.copyfile(os.path.join(module_dir, "go.mod"), os.path.join(out, f"{version}.mod"))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(os.path.join(out, f"{version}.info"), "w") as f:
        json.dump({"Version": version, "Time": now}, f)
    with open(os.path.join(out, "list"), "w") as f:
        f.write(version + "\n")


if __name__ == "__main__":
    main()
