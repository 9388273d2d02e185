"""Korttid's benchmark: ``python -m bench`` (``make bench``) measures the targets of issue 8.

Everything runs on this machine in one go, so the figures are ratios on the same hardware: the
bot and two baselines (a raw aiohttp echo and the Bot Framework SDK's echo sample) each in a
process of its own, driven over real HTTP by a load driver that acts as the Teams channel, with a
local connector (another process) receiving the replies. Results go to ``docs/performance.md``.
"""
