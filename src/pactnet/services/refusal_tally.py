"""How refusals of envelopes nobody is proven to have sent reach the audit log: a few, then a count.

An envelope refused before it is opened (unknown sender, forged signature, another recipient, malformed, stale,
undecryptable) proves nothing about who sent it, and costs its sender nothing: audited one entry each, 5,120
such envelopes from an unknown sender grew the log by 5,120 entries in 0.3 s (issue 17, item 5). The first
`BURST` of them in each `INTERVAL` are audited one by one, as before; the rest are counted, and the count (by
code, with the first and last instant) is audited in one `refused-envelopes` entry with the next refusal after
the interval. The log grows by at most `BURST + 1` such entries per interval and per process, and still says how
many envelopes were refused.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pactnet.audit.chain import AuditRecord

BURST = 10
INTERVAL = timedelta(minutes=1)
SUMMARY = "refused-envelopes"


@dataclass(slots=True)
class RefusalTally:
    """Refusals of unopened envelopes this process has let into the audit log, and those it only counted."""

    burst: int = BURST
    interval: timedelta = INTERVAL
    _started: datetime | None = None
    _audited: int = 0
    _counted: Counter[str] = field(default_factory=Counter)
    _first: datetime | None = None
    _last: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, at: datetime, record: AuditRecord) -> list[AuditRecord]:
        """The audit records to append for one refusal at `at`: itself, a summary and itself, or none (counted)."""
        with self._lock:
            records: list[AuditRecord] = []
            if self._started is None or at - self._started >= self.interval:
                records += self._summary()
                self._started, self._audited = at, 0
            if self._audited < self.burst:
                self._audited += 1
                return [*records, record]
            self._counted[str(record.data.get("code", "?"))] += 1
            self._first = self._first or at
            self._last = at
            return records

    def _summary(self) -> list[AuditRecord]:
        if not self._counted or self._first is None or self._last is None:
            return []
        data = {
            "count": sum(self._counted.values()),
            "codes": dict(sorted(self._counted.items())),
            "first": self._first.isoformat(),
            "last": self._last.isoformat(),
        }
        self._counted, self._first, self._last = Counter(), None, None
        return [AuditRecord(SUMMARY, "?", "unopened", data)]
