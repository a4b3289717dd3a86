"""A report inline in a notebook: the page in an ``<iframe srcdoc>``, so it renders the same
in Jupyter classic, JupyterLab, VS Code and Colab, without a widget or a kernel round trip."""
from __future__ import annotations

import html


def iframe_html(page: str, height: int = 900) -> str:
    """``page`` (a whole HTML document) as one iframe element. The sandbox lets the page's
    own scripts run and nothing else (no navigation of the notebook, no same-origin access)."""
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" '
            f'sandbox="allow-scripts allow-downloads allow-popups" '
            f'style="width:100%;height:{int(height)}px;border:1px solid #ddd" '
            'title="evalbeam report"></iframe>')
