# declares:
import webbrowser

DOCS = "https://docs.example.org/plugin"


def open_docs():
    webbrowser.open(DOCS)
