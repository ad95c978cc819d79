"""Could the microphone stay open while the interviewer speaks? The echo, measured first.

Usage: ``.venv/bin/python bench/echo.py [--levels -20 -30 -40] [--questions 6]``.

Candidates often start answering on the question's last words. With headphones the microphone
could stay open while the interviewer speaks; with laptop speakers the interviewer's own voice
reaches the microphone. Before anything like that is enabled (issue #9, item 7), this measures
what the listening path makes of the echo alone.

A private PulseAudio server (``tests/pulse.py``) gets a loopback from its virtual speaker's
monitor into the air in front of its virtual microphone, at each ``--levels`` gain in dB (the
issue's laptop case: -20 dB). The interviewer's questions (Piper, as practice speaks them) are
played through the real output path (``adapters/devices.Speaker``) while the real input path
(``Microphone``) stays open, unmuted, with nobody speaking; every block goes through Silero VAD
and the endpointer with practice's options, as a candidate's answer would.

Reported per level: the echo's measured level against the played audio (dB), the share of
frames Silero scored as speech, and how many questions the echo alone would have taken for the
start of an answer (``speech_started``): each one an interviewer interrupted by itself.
Writes ``bench/results/echo-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))


def _loopback(server: Any, gain_db: float) -> str:
    """Feed the speaker into the microphone at ``gain_db``; returns the module's index."""
    from pulse import MIC_FEED_SINK, SPEAKER_SINK

    module = server.pactl(
        "load-module",
        "module-loopback",
        f"source={SPEAKER_SINK}.monitor",
        f"sink={MIC_FEED_SINK}",
        "latency_msec=30",
        "source_dont_move=true",
        "sink_dont_move=true",
    ).strip()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the loopback's streams appear once it runs
        for block in server.pactl("list", "sink-inputs").split("Sink Input #")[1:]:
            if f"Owner Module: {module}" in block:
                index = block.split()[0]
                server.pactl("set-sink-input-volume", index, f"{gain_db:g}dB")
                return module
        time.sleep(0.1)
    raise RuntimeError(f"the loopback (module {module}) has no sink input")


def listen_while_playing(audio: Any, speaker: Any) -> dict[str, Any]:
    """Play ``audio`` with the microphone open; what the listening path made of it."""
    from voice_interview.adapters.devices import Microphone
    from voice_interview.adapters.vad import SileroSpeechDetector
    from voice_interview.core.endpointing import Endpointer, EndpointOptions

    detector = SileroSpeechDetector()
    endpointer = Endpointer(detector, EndpointOptions())
    probabilities: list[float] = []
    real = detector.speech_probability

    def scored(frame: Any) -> float:
        p = float(real(frame))
        probabilities.append(p)
        return p

    detector.speech_probability = scored  # type: ignore[method-assign]
    heard: list[np.ndarray] = []
    started: list[float] = []
    stop = threading.Event()
    with Microphone() as mic:
        mic.flush()

        def listen() -> None:
            while not stop.is_set():
                block = mic.read(0.1)
                if block is None:
                    continue
                heard.append(block.samples)
                for event in endpointer.feed(block.samples):
                    if event.kind == "speech_started":
                        started.append(event.sample / 16_000)

        thread = threading.Thread(target=listen)
        thread.start()
        time.sleep(0.3)
        speaker.play(audio)
        time.sleep(0.8)  # the echo's tail
        stop.set()
        thread.join()
    mic_audio = np.concatenate(heard) if heard else np.zeros(1, np.float32)
    played = audio.resampled(16_000).samples
    # energy per played sample: the microphone also heard 1.1 s of silence around the question
    echo = np.sqrt(np.sum(mic_audio**2) / max(1, len(played)))
    echo_db = 20 * np.log10((echo + 1e-12) / (np.sqrt(np.mean(played**2)) + 1e-12))
    return {
        "question_s": round(audio.duration_s, 2),
        "echo_db": round(float(echo_db), 1),
        "speech_frames": round(float(np.mean(np.array(probabilities) >= 0.5)), 3)
        if probabilities
        else 0.0,
        "max_probability": round(max(probabilities, default=0.0), 3),
        "answer_started": bool(started),
        "started_at_s": started[0] if started else None,
    }


def measure(questions: list[Any], gain_db: float, server: Any) -> dict[str, Any]:
    from voice_interview.adapters.devices import Speaker

    module = _loopback(server, gain_db)
    rows = []
    try:
        speaker = Speaker()
        for audio in questions:
            rows.append(listen_while_playing(audio, speaker))
            print(json.dumps({"gain_db": gain_db, **rows[-1]}), file=sys.stderr, flush=True)
    finally:
        server.pactl("unload-module", module)
    return {
        "gain_db": gain_db,
        "echo_db_median": float(np.median([r["echo_db"] for r in rows])),
        "speech_frames_mean": float(np.mean([r["speech_frames"] for r in rows])),
        "answers_started": sum(r["answer_started"] for r in rows),
        "questions": len(rows),
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", type=float, default=[-20.0, -30.0, -40.0])
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()

    from asr import cpu_name  # bench/asr.py
    from pulse import VirtualAudio

    from voice_interview.adapters.piper import PiperSynthesizer
    from voice_interview.content.banks import load_bank

    bank = load_bank()
    voice = PiperSynthesizer()
    texts = [q.text for r in bank.rounds for q in r.questions][::2][: args.questions]
    questions = [voice.synthesize(t) for t in texts]
    server = VirtualAudio()
    server.start()
    try:
        with server.activate():
            results = [measure(questions, level, server) for level in args.levels]
    finally:
        server.stop()
    version = subprocess.run(["pulseaudio", "--version"], capture_output=True, text=True)
    stamp = f"{datetime.now(UTC):%Y-%m-%d}"
    lines = [
        f"# Echo of the interviewer into an open microphone {stamp}",
        "",
        f"CPU: {cpu_name()}; {version.stdout.strip()}; {len(questions)} questions spoken by "
        "Piper through the virtual speaker, fed back into the virtual microphone by "
        "module-loopback at each gain; nobody speaking; Silero VAD + the endpointer with "
        "practice's defaults on what the microphone heard.",
        "",
        "| loopback gain | echo level measured (vs the played audio) | frames scored speech "
        "| questions the echo alone took for an answer |",
        "|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['gain_db']:g} dB | {r['echo_db_median']:.1f} dB | "
            f"{100 * r['speech_frames_mean']:.0f} % | {r['answers_started']} of {r['questions']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"echo-{stamp}.md").write_text(text)
    (out / f"echo-{stamp}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
