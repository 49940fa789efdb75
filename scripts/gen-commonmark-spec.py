#!/usr/bin/env python3
"""Writes the CommonMark spec examples (markdown, html, section, example number) as JSON, the
reference the MagiRender spec test walks. They come from the markdown-it-py source
distribution on PyPI (tests/test_cmark_spec/commonmark.json, spec 0.31.2), fetched with pip.
    gen-commonmark-spec.py OUTPUT.json
"""
import json
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "markdown-it-py==4.3.0"
MEMBER = "tests/test_cmark_spec/commonmark.json"

out = sys.argv[1]
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    "--disable-pip-version-check", "-d", tmp, PACKAGE], check=True, stdout=sys.stderr)
    archive = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".tar.gz"))
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(MEMBER))
        examples = json.load(tar.extractfile(member))
with open(out, "w") as f:
    json.dump([{k: e[k] for k in ("markdown", "html", "section", "example")} for e in examples], f)
print(f"wrote {out} ({len(examples)} examples)", file=sys.stderr)
