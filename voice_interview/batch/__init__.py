"""Scoring folders of recordings: find and assign the files (``run``), score them in a
process pool, keep the results log, and show the batch (``view``)."""
