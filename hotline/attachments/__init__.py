"""Attachments (附件) of a ticket: photos, PDFs, office documents and audio (issue 22).

- `models`: the `attachments` rows (what was stored, its checksum, who gave it, from where);
- `content`: what a file is, judged by its bytes (never its name), and the image work done on
  upload (the location taken out of a photo's EXIF, a thumbnail);
- `storage`: where the bytes live (a folder under the instance by default), behind a small
  interface so a shared volume or an object store can stand in (docs/operations.md);
- `service`: attach a file to a ticket, list a ticket's files, read one (scoped, masked and
  audited like the ticket);
- `mms`: the media of a citizen's MMS, fetched from Twilio by a job into attachments.
"""
