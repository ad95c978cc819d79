"""The spoken interview: the loop that asks, listens and scores (``interview``), its wiring
to real devices and models (``wiring``), the live terminal display (``display``) and the replay
of a saved session (``replay``). May import every other layer."""
