"""Madoguchi: a chat consultation desk that partner websites embed."""
