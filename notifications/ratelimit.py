"""Send rate within Teams' limits: token buckets per conversation and per tenant.

Teams allows a bot about 7 messages a second in one conversation (and 60 per 30 s, 1 800 per
hour) and about 50 requests a second per tenant. The buckets are per instance; a 429 that still
gets through is honoured by the dispatcher (``Retry-After``), which also leaves that conversation
alone for the rest of its pass.

A bucket lets through at most ``capacity + rate * t`` sends in any ``t`` seconds, counted when
the tokens are taken: take one right before the send, not ahead of a wait, or sends that were
held up (a busy process) go out together later and bunch up above the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Per conversation: a burst of 7, then one every 2 s (60/30 s and 1 800/hour both hold).
CONVERSATION_BURST, CONVERSATION_RATE = 7.0, 0.5
# Per tenant: at most 48 sends in any second (1.5 + 47, whole sends), below the documented 50
# requests a second: 2 to spare for replies to users (which count too) and for sends that reach
# Teams a little out of step with when they were started; 3 a second in a steady stream. The half
# token over 1 absorbs a sleep that wakes late, which would otherwise cost every send its delay.
TENANT_BURST, TENANT_RATE = 1.5, 47.0


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

    def conversation_wait(self, conversation: str) -> float:
        """Seconds until the conversation's own bucket has a token, whatever the tenant's."""
        bucket = self.conversations.setdefault(
            conversation, TokenBucket(CONVERSATION_BURST, CONVERSATION_RATE)
        )
        return bucket.wait(self.monotonic())

    def take(self, conversation: str, tenant: str | None) -> None:
        now = self.monotonic()
        for bucket in self._buckets(conversation, tenant):
            bucket.take(now)
