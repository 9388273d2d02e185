"""A step's note when several people write it at once (issue 16): nobody's text is lost.

A step card carries the note it was rendered with (``note_shown``). When the stored note has
changed since (a colleague's card, a typed ``not: …``, another instance), a press keeps the stored
text and adds what the presser added, instead of writing the old text back over it.
"""

from __future__ import annotations


def merged_note(stored: str, shown: str | None, sent: str) -> str | None:
    """The step's new note after a card sent ``sent`` in its note field; None keeps it as is.

    ``shown`` is the note the card showed (None: a card from before cards carried it)."""
    if not sent or sent in (shown, stored):
        return None  # an empty or untouched field never clears or rolls back a note
    if shown is None or stored == shown:
        return sent  # nobody else wrote since the card was shown
    added = sent.removeprefix(shown).strip() if shown else sent
    if not added:
        return None
    return f"{stored}\n{added}" if stored else added
