"""The ticket list's rows when it was searched: what matched, highlighted."""

from hotline.search import highlight

EXCERPT = 80   # characters of the content shown around the first match


def mark(rows: list[dict], q: str) -> None:
    """Give each dumped row (already masked for the viewer) its highlighted fields under "found"."""
    for row in rows:
        caller = row.get("caller") or {}
        row["found"] = {
            "number": highlight(row["number"], q),
            "subject": highlight(row.get("subject"), q),
            "excerpt": highlight(row.get("content"), q, width=EXCERPT),
            "address": highlight((row.get("location") or {}).get("address"), q),
            # Masked callers show masked: the mask has no digits or name left to mark.
            "caller": highlight(" ".join(filter(None, [caller.get("name"), caller.get("phone")])), q),
        }
