"""Test support: servers, Azurite, proxies and clients the test modules drive (no tests here)."""
