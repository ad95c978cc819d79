"""Echo and barge-in: the microphone open while the interviewer speaks, with and without AEC.

Usage: ``.venv/bin/python bench/echo.py [--levels -10 -20 -30] [--questions 6]``.

A private PulseAudio server (``tests/pulse.py``) gets a loopback from its virtual speaker's
monitor into the air in front of its virtual microphone at each ``--levels`` gain in dB (the
issue's laptop case: -20 dB; -10 dB is a loud speaker next to the microphone). The
interviewer's questions (Piper, as practice speaks them) are played through practice's own
speaking path (``practice/speaking.Speaking``: ``adapters/devices.Speaker`` in the background,
``Microphone`` open, ``core/barge_in.BargeIn`` on what it hears), two ways, each measured in
the same run:

* ``aec off``: the microphone as it was, no echo cancellation (the baseline);
* ``aec on``: the speaker hands what it plays to a ``FarEnd``, the microphone takes the echo
  out with WebRTC AEC3 (``adapters/echo.py``), as ``practice`` does by default.

Two trials per question and setting:

* *echo alone* (nobody speaks): did the interviewer stop itself (a false barge-in), and the
  share of frames Silero scored as speech;
* *barge-in*: 1.5 s into the question a real recording (``tests/data/real-speech``) is played
  into the microphone: did the interviewer stop, how long after the candidate's first word
  (wall clock, PulseAudio's latency included), and how much of the candidate's speech the
  answer kept (seconds of kept audio against the clip's speech from its first word).

The echo path here is linear (a delay and a gain), easier than a room: the numbers say the
mechanism works, not that every room will. Writes ``bench/results/echo-<date>.md``/``.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
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

RATE = 16_000
CANDIDATE_AT_S = 1.5


def _speaking(speaker: Any) -> Any:
    """Practice's speaking path (no recogniser is needed)."""
    from voice_interview.adapters.vad import SileroSpeechDetector
    from voice_interview.practice.display import PlainDisplay
    from voice_interview.practice.speaking import Speaking

    return Speaking(speaker, SileroSpeechDetector, PlainDisplay(out=open("/dev/null", "w")))


def _speech_frames(samples: np.ndarray) -> float:
    from voice_interview.adapters.vad import SileroSpeechDetector

    det = SileroSpeechDetector()
    ps = [det.speech_probability(samples[i : i + 512]) for i in range(0, samples.size - 511, 512)]
    return float(np.mean(np.array(ps) >= 0.5)) if ps else 0.0


def trial(
    interview: Any, mic: Any, question: Any, server: Any, clip: tuple[Path, float, float] | None
) -> dict[str, Any]:
    """Speak ``question``; with ``clip`` (wav, lead s, speech s) a candidate talks over it."""
    mic.flush()
    heard: list[np.ndarray] = []
    real_read = mic.read

    def read(timeout_s: float) -> Any:
        block = real_read(timeout_s)
        if block is not None:
            heard.append(block.samples)
        return block

    mic.read = read
    started: list[float] = []
    timer = None
    if clip is not None:

        def start() -> None:
            started.append(time.monotonic())
            server.play_into_mic(clip[0])

        timer = threading.Timer(CANDIDATE_AT_S, start)
    before = interview.barge_ins
    t0 = time.monotonic()
    try:
        if timer is not None:
            timer.start()
        kept = [a for a in [interview.play(question, mic).speech] if a is not None]
        t1 = time.monotonic()
    finally:
        mic.read = real_read
        if timer is not None:
            timer.cancel()
    stopped = interview.barge_ins > before
    row: dict[str, Any] = {
        "question_s": round(question.duration_s, 2),
        "stopped": stopped,
        "stopped_at_s": round(t1 - t0, 2) if stopped else None,
        "speech_frames": round(_speech_frames(np.concatenate(heard)), 3) if heard else 0.0,
    }
    if clip is not None:
        first_word = (started[0] if started else t0 + CANDIDATE_AT_S) + clip[1]
        kept_s = sum(a.duration_s for a in kept)
        row.update(
            {
                "candidate_first_word_s": round(first_word - t0, 2),
                "stop_after_first_word_s": round(t1 - first_word, 2) if stopped else None,
                "kept_s": round(kept_s, 2),
                # the candidate's speech that had been said when the interviewer stopped
                "said_before_stop_s": round(max(0.0, min(clip[2], t1 - first_word)), 2),
            }
        )
        time.sleep(clip[2] + 0.5)  # let the clip finish before the next trial
    else:
        time.sleep(0.5)
    return row


def measure(
    questions: list[Any], clips: list[tuple[Path, float, float]], gain_db: float, server: Any
) -> list[dict[str, Any]]:
    from voice_interview.adapters.devices import Microphone, Speaker
    from voice_interview.adapters.echo import EchoCanceller, FarEnd

    results = []
    with server.echo(gain_db):
        for aec in (False, True):
            far = FarEnd() if aec else None
            speaker = Speaker(far_end=far)
            interview = _speaking(speaker)
            mic = Microphone(far_end=far, canceller=EchoCanceller() if aec else None)
            if not aec:
                mic.echo_cancelled = True  # listen while speaking anyway: the baseline
            rows = []
            with mic:
                for i, question in enumerate(questions):
                    for clip in (None, clips[i % len(clips)]):
                        rows.append(
                            {
                                "trial": "echo" if clip is None else "barge-in",
                                **trial(interview, mic, question, server, clip),
                            }
                        )
                        print(
                            json.dumps({"gain_db": gain_db, "aec": aec, **rows[-1]}),
                            file=sys.stderr,
                            flush=True,
                        )
            echo = [r for r in rows if r["trial"] == "echo"]
            barge = [r for r in rows if r["trial"] == "barge-in"]
            delays = [r["stop_after_first_word_s"] for r in barge if r["stopped"]]
            results.append(
                {
                    "gain_db": gain_db,
                    "aec": aec,
                    "false_stops": sum(r["stopped"] for r in echo),
                    "echo_speech_frames": float(np.mean([r["speech_frames"] for r in echo])),
                    "barge_ins": sum(r["stopped"] for r in barge),
                    "trials": len(barge),
                    "stop_delay_median_s": float(np.median(delays)) if delays else None,
                    "stop_delay_max_s": float(max(delays)) if delays else None,
                    "kept_vs_said_s": [
                        (r["kept_s"], r["said_before_stop_s"]) for r in barge if r["stopped"]
                    ],
                    "rows": rows,
                }
            )
    return results


def _clips(folder: Path, count: int) -> list[tuple[Path, float, float]]:
    """Real recordings as 16 kHz WAVs: (path, first word s, speech s from the first word)."""
    from asr import load_real_speech  # bench/asr.py

    from voice_interview.adapters.audio_files import write_wav

    out = []
    for clip, _ in load_real_speech()[:count]:
        audio = clip.resampled(RATE)
        loud = np.flatnonzero(np.abs(audio.samples) > 0.02)
        lead, end = loud[0] / RATE, loud[-1] / RATE
        path = folder / f"clip{len(out)}.wav"
        write_wav(audio, path)
        out.append((path, float(lead), float(end - lead)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", type=float, default=[-10.0, -20.0, -30.0])
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
    with tempfile.TemporaryDirectory() as tmp:
        clips = _clips(Path(tmp), 5)
        try:
            with server.activate():
                results = [
                    r for level in args.levels for r in measure(questions, clips, level, server)
                ]
        finally:
            server.stop()
    version = subprocess.run(["pulseaudio", "--version"], capture_output=True, text=True)
    stamp = f"{datetime.now(UTC):%Y-%m-%d}"

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f} s"

    lines = [
        f"# Echo and barge-in, microphone open while the interviewer speaks {stamp}",
        "",
        f"CPU: {cpu_name()}; python {platform.python_version()}; {version.stdout.strip()}; "
        f"{len(questions)} questions spoken by Piper through the virtual speaker, fed back into "
        "the virtual microphone by module-loopback (linear: delay + gain) at each gain. Per "
        "question: one trial with nobody speaking, one with a real recording played into the "
        f"microphone {CANDIDATE_AT_S} s into the question. Barge-in rule: core/barge_in.py "
        "defaults (Silero >= 0.5 for 0.2 s in a row).",
        "",
        "| loopback gain | AEC | echo alone: interviewer stopped itself | echo frames scored "
        "speech | candidate over it: interviewer stopped | first word -> stopped, median / max "
        "| kept / said before the stop (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        kept = ", ".join(f"{k:.1f}/{s:.1f}" for k, s in r["kept_vs_said_s"])
        lines.append(
            f"| {r['gain_db']:g} dB | {'on' if r['aec'] else 'off'} | {r['false_stops']} of "
            f"{r['trials']} | {100 * r['echo_speech_frames']:.0f} % | {r['barge_ins']} of "
            f"{r['trials']} | {f(r['stop_delay_median_s'])} / {f(r['stop_delay_max_s'])} | "
            f"{kept} |"
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
