"""Where the tests find the repository and its sample exports."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
APP = str(ROOT / "app.py")
