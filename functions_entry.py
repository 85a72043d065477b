"""The Azure Functions host's entry point (host.json sits beside it). Named by the
PYTHON_SCRIPT_FILE_NAME app setting, because `function_app.py` would clash with the
`function_app` package. The functions themselves are in function_app/api/."""

from function_app.api.app import app

__all__ = ["app"]
