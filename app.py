"""Persona Lens: ``streamlit run app.py``. The pages and the sidebar are in ui.router."""

from ui.router import run

run()
