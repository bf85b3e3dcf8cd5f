"""Test utilities that ship with gre: a fake OpenAI-compatible server for dry runs."""
