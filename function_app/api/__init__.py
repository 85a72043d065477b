"""The HTTP and queue functions over the core (the only package that imports azure.functions)."""
