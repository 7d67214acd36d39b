# declares:
DOCS = "https://wiseflow.readthedocs.io/en/latest/"
ISSUES = "https://github.com/example/wiseflow/issues"
LOCAL = "http://localhost:8000/docs"
