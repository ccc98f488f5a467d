"""Pydantic v2 models for every record that crosses a boundary."""
