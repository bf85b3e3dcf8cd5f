"""Test utilities that ship with gre.

- :mod:`gre.testing.fake_openai`: an OpenAI-compatible server on 127.0.0.1 for dry runs.
- :mod:`gre.testing.tiny_qwen`: a tiny random Qwen2.5-VL / Qwen2-VL checkpoint, built locally.
- :mod:`gre.testing.plugins`: pip-install a plugin's source folder for real, offline, for a test.
"""
