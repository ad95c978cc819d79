"""The demo: the interviewer speaks a question, a sample answer (spoken by Piper, no microphone)
goes through the same answer pipeline as a real one, and the scorecard is shown.

Sample answers are content in ``prompts/samples/answers.toml``.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from voice_interview.resources import data_folder

__all__ = ["load_sample_answers", "run_demo"]

logger = logging.getLogger(__name__)


def load_sample_answers() -> dict[str, str]:
    """Question id -> sample answer text."""
    path = data_folder("prompts") / "samples" / "answers.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return {qid: " ".join(entry["text"].split()) for qid, entry in raw["answers"].items()}


def run_demo(
    *,
    out_dir: Path,
    question_id: str,
    model: str,
    bank_path: str | None,
    play_audio: bool,
    console: Any,
) -> int:
    from voice_interview.adapters.audio_files import write_wav
    from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
    from voice_interview.adapters.playback import DeviceError, play
    from voice_interview.bank import load_bank
    from voice_interview.errors import BankError
    from voice_interview.pipeline import build_pipeline
    from voice_interview.render import print_evaluation, print_transcript

    bank = load_bank(bank_path)
    question = bank.question(question_id)
    answers = load_sample_answers()
    if question.id not in answers:
        raise BankError(
            f"no sample answer for {question.id!r} in prompts/samples/answers.toml; "
            f"choose one of: {', '.join(answers)}"
        )
    interviewer = PiperSynthesizer()
    console.print(f"[bold]Interviewer[/bold]: {question.text}")
    question_audio = interviewer.synthesize(question.text)
    question_path = write_wav(question_audio, out_dir / "question.wav")
    if play_audio:
        try:
            play(question_audio)
        except DeviceError as exc:
            console.print(f"(not played: {exc}; the question is in {question_path})")
    else:
        console.print(f"(question audio: {question_path}, {question_audio.duration_s:.1f} s)")

    # The candidate's side: a sample answer, spoken slightly slower than the interviewer.
    candidate = PiperSynthesizer(SpeechOptions(length_scale=1.1))
    answer_path = write_wav(candidate.synthesize(answers[question.id]), out_dir / "answer.wav")
    console.print(f"[bold]Candidate[/bold] (sample answer, {answer_path}) ...")

    evaluation = build_pipeline(model, bank).score_file(answer_path, question)
    print_transcript(console, evaluation.transcript)
    print_evaluation(console, evaluation)
    return 0
