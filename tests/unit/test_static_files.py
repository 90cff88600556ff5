"""Vendored files are the versions the README records, and no template carries inline script."""

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"


def test_vendored_files_match_their_recorded_checksums():
    table = (VENDOR / "README.md").read_text()
    rows = re.findall(r"\| `([^`]+)` \| `([0-9a-f]{64})` \|", table)
    assert len(rows) >= 2
    for relative, recorded in rows:
        actual = hashlib.sha256((VENDOR / relative).read_bytes()).hexdigest()
        assert actual == recorded, f"{relative} does not match static/vendor/README.md"


def test_templates_have_no_inline_scripts_or_handlers():
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline <script> in {template}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {template}"
        assert not re.search(r"\bhx-on", text), f"hx-on (evaluated script) in {template}"
        assert "style=" not in text, f"inline style in {template} (CSP style-src 'self')"
