"""Edges of the program: audio files, models (Whisper, Piper), sound devices.

Each adapter imports its heavy library lazily, inside the function or method that needs it,
so that ``import voice_interview`` and ``voice-interview --help`` stay fast.
"""
