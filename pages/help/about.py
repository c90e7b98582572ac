"""About RevLens: what it is, and its documentation (the files in docs/), readable in the app."""

import re
from pathlib import Path

import streamlit as st

from analytics.core.settings import db_path
from pages.components.cache import warehouse

DOCS = Path(__file__).resolve().parents[2] / "docs"
IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)\s*$", re.MULTILINE)

warehouse()  # a deep link opened first in a fresh server must go through app.py
st.title("About RevLens")
st.markdown(
    "RevLens joins marketing data with sales, product, customer success and finance in one dashboard: which "
    "campaigns and channels earn the revenue under each attribution model, what each campaign cost and returned, "
    "which leads are worth a rep and who gets them, and it writes scores and attribution back to HubSpot. "
    "Every number on its pages has its formula in the documentation below."
)
st.caption(f"Warehouse: {db_path()}")

docs = sorted(DOCS.glob("*.md"))
if not docs:
    st.info("The documentation files (docs/*.md) are not installed beside this app.")
    st.stop()


def _title(path: Path) -> str:
    first = next((line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")), path.stem)
    return first.lstrip("#").strip()


titles = {path.name: _title(path) for path in docs}
chosen = st.selectbox("Documentation", list(titles), format_func=titles.get, key="about_doc_choice")
text = (DOCS / chosen).read_text(encoding="utf-8")
with st.container(key="about_doc", border=True):
    # markdown images are files beside the docs: drawn with st.image, the text around them as markdown
    position = 0
    for match in IMAGE.finditer(text):
        st.markdown(text[position : match.start()])
        image = DOCS / match["src"]
        if image.exists():
            st.image(str(image), caption=match["alt"])
        position = match.end()
    st.markdown(text[position:])
