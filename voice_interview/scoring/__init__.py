"""Scoring of answers: pure functions of a transcript and a question."""
