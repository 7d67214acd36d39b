# declares:
import html


def cell(text: str) -> str:
    return f"<td>{html.escape(text)}</td>"
