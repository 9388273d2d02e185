"""A step's note when several people write it at once (issue 16): nobody's text is lost.

A step card carries a fingerprint of the note it was rendered with (``note_mark``; the note itself
would repeat in every button's data and swell the card). When the stored note has changed since
(a colleague's card, a typed ``not: …``, another instance), a press keeps the stored text and adds
what the presser added to the note they saw, instead of writing the older text back over it.
"""

from __future__ import annotations

import hashlib


def note_mark(text: str) -> str:
    """A short fingerprint of a note's text, for a card to carry instead of the text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def merged_note(stored: str, shown_mark: str | None, sent: str) -> str | None:
    """The step's new note after a card sent ``sent`` in its note field; None keeps it as is.

    ``shown_mark`` is the mark of the note the card showed (None: an older card without it)."""
    if not sent or sent == stored:
        return None  # an empty field never clears a note
    if shown_mark is None or note_mark(stored) == shown_mark:
        return sent  # nobody else wrote since the card was shown
    if note_mark(sent) == shown_mark:
        return None  # the field as shown: an older note is never written back
    added = _added_to_shown(shown_mark, sent)
    if not added:
        return None
    return f"{stored}\n{added}" if stored else added


def _added_to_shown(shown_mark: str, sent: str) -> str:
    """What the presser wrote after the note they were shown; all of it if they changed that."""
    for end in range(len(sent) - 1, -1, -1):  # the longest start that is the shown note
        if note_mark(sent[:end].rstrip()) == shown_mark:
            return sent[end:].strip()
    return sent
