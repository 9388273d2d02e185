"""Send rate within Teams' limits: token buckets per conversation and per tenant.

Teams allows a bot about 7 messages a second in one conversation (and 60 per 30 s, 1 800 per
hour) and about 50 requests a second per tenant. The buckets are per instance; a 429 that still
gets through is honoured by the dispatcher (``Retry-After``), which also leaves that conversation
alone for the rest of its pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Per conversation: a burst of 7, then one every 2 s (60/30 s and 1 800/hour both hold).
CONVERSATION_BURST, CONVERSATION_RATE = 7.0, 0.5
# Per tenant: below the documented 50 requests/s, leaving room for replies to users.
TENANT_BURST, TENANT_RATE = 30.0, 40.0


@dataclass
class TokenBucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float | None = None  # full until first used
    stamp: float = 0.0

    def refill(self, now: float) -> None:
        if self.tokens is None:
            self.tokens, self.stamp = self.capacity, now
            return
        elapsed = max(now - self.stamp, 0.0)  # a clock set back must not mint tokens
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = max(now, self.stamp)

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0: now)."""
        self.refill(now)
        assert self.tokens is not None
        return max(0.0, 1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.refill(now)
        assert self.tokens is not None
        self.tokens -= 1.0


@dataclass
class RateLimiter:
    monotonic: Callable[[], float] = time.monotonic
    conversations: dict[str, TokenBucket] = field(default_factory=dict)
    tenants: dict[str, TokenBucket] = field(default_factory=dict)

    def _buckets(self, conversation: str, tenant: str | None) -> tuple[TokenBucket, TokenBucket]:
        conv = self.conversations.setdefault(
            conversation, TokenBucket(CONVERSATION_BURST, CONVERSATION_RATE)
        )
        ten = self.tenants.setdefault(tenant or "", TokenBucket(TENANT_BURST, TENANT_RATE))
        return conv, ten

    def wait(self, conversation: str, tenant: str | None) -> float:
        now = self.monotonic()
        return max(bucket.wait(now) for bucket in self._buckets(conversation, tenant))

    def take(self, conversation: str, tenant: str | None) -> None:
        now = self.monotonic()
        for bucket in self._buckets(conversation, tenant):
            bucket.take(now)
