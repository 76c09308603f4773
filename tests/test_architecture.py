"""The core packages never depend on the user interface."""

import subprocess
import sys


def test_roster_and_notify_do_not_import_textual():
    code = (
        "import sys, pkgutil, importlib, roster, notify\n"
        "for package in (roster, notify):\n"
        "    for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if '.migrations' not in module.name:\n"
        "            importlib.import_module(module.name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.') or m == 'tui' or m.startswith('tui.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"roster/notify imported: {result.stdout}"


def test_roster_does_not_import_twilio_or_http():
    code = (
        "import sys, pkgutil, importlib, roster\n"
        "for module in pkgutil.walk_packages(roster.__path__, 'roster.'):\n"
        "    if '.migrations' not in module.name:\n"
        "        importlib.import_module(module.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('twilio', 'fastapi', 'uvicorn', 'httpx', 'notify'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"roster imported: {result.stdout}"
