"""Conversations: the command table, one ComponentDialog per multi-step conversation."""
