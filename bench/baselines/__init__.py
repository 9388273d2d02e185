"""Baselines the bot is measured against, each run as a process of its own."""
