"""What the program keeps on disk: practice sessions (``sessions``) and their schema.
Imports ``core``, ``scoring.result``, ``content`` and ``adapters`` (audio files, durable writes)."""
