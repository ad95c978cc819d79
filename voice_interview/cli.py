"""Command line: a thin shell that parses, builds options, calls the library, returns an exit code.

Exit codes: 0 success; 1 a handled error (bad input, missing model, device problem: one line on
stderr, no traceback), or any file of a batch (``score PATH...``) that failed, while the others
are scored; 2 bad command-line usage; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voice_interview.errors import VoiceInterviewError

if TYPE_CHECKING:  # imported lazily below, so that --help stays fast
    from rich.console import Console

    from voice_interview.adapters.judge import JudgeConfig
    from voice_interview.practice.interview import PracticeOptions

logger = logging.getLogger("voice_interview")

DEFAULT_SESSIONS_DIR = "sessions"


def _build_parser() -> argparse.ArgumentParser:
    from voice_interview.adapters.models import DEFAULT_ASR_MODEL, DEFAULT_VOICE

    fmt = argparse.ArgumentDefaultsHelpFormatter
    # the global options, before or after the command: SUPPRESS, so that a value given before
    # the command is not reset by the subcommand's default
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="verbose logs and tracebacks",
    )
    common.add_argument(
        "--bank",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="question bank TOML (default: the bundled Amazon bank)",
    )
    parser = argparse.ArgumentParser(
        prog="voice-interview",
        description="A local, private, spoken mock-interview coach.",
        formatter_class=fmt,
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)

    p = add_command("questions", help="list the questions", formatter_class=fmt)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add_command("say", help="speak text with Piper", formatter_class=fmt)
    p.add_argument("text", help="what to say")
    p.add_argument("-o", "--output", metavar="FILE.wav", help="write a WAV instead of playing")
    p.add_argument("--voice", default=DEFAULT_VOICE, help="voice name or .onnx path")

    def add_model(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--model",
            default=DEFAULT_ASR_MODEL,
            help="ASR model: tiny.en, base, a CTranslate2 folder, or a faster-whisper name",
        )

    p = add_command("transcribe", help="transcribe an audio file", formatter_class=fmt)
    p.add_argument("file", help="audio file (wav, flac, mp3, ogg/opus, m4a, webm)")
    add_model(p)
    p.add_argument("--question", metavar="ID", help="question it answers (improves accuracy)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add_command(
        "score",
        help="transcribe and score an answer, or a batch of them",
        formatter_class=fmt,
        description="One audio file with --question (and no batch option) prints its "
        "evaluation. Several PATHs, folders (recursive), globs, session folders, --manifest, "
        "--out, --jobs or --resume run a batch into --out (see docs/batch.md). "
        "Exit code 1 when any file of a batch failed (each failure is one line on stderr and "
        "in failures.jsonl).",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="audio files, folders or globs")
    p.add_argument("--question", metavar="ID", help="question it answers (all files of a batch)")
    p.add_argument("--text", help="score this typed answer instead of audio")
    p.add_argument("--transcript", metavar="FILE.txt", help="score the text in this file")
    add_model(p)
    p.add_argument(
        "--judge-url",
        metavar="URL",
        help="optional LLM judge: OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1 "
        "(env VOICE_INTERVIEW_JUDGE_BASE_URL; API key only from env OPENAI_API_KEY)",
    )
    p.add_argument(
        "--judge-model",
        metavar="NAME",
        help="LLM judge model name (env VOICE_INTERVIEW_JUDGE_MODEL); off when neither is set",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_batch_arguments(p)

    def add_interview(p: argparse.ArgumentParser) -> None:
        from voice_interview.practice.interview import PracticeOptions

        d = PracticeOptions()
        p.add_argument(
            "--round",
            default="all",
            metavar="ROUND",
            help="round id as printed by `questions --json`, or all",
        )
        p.add_argument("--questions", type=int, metavar="N", help="ask at most N questions")
        p.add_argument(
            "--per-round", type=int, metavar="N", help="ask at most N questions from each round"
        )
        p.add_argument("--shuffle", action="store_true", help="shuffle questions within rounds")
        p.add_argument("--seed", type=int, help="seed for --shuffle")
        add_model(p)
        p.add_argument("--sessions-dir", default=DEFAULT_SESSIONS_DIR, help="where sessions go")
        p.add_argument(
            "--end-silence-s",
            type=float,
            default=d.end_silence_s,
            help="the longest silence while your answer reads unfinished, and how long the "
            "interviewer waits before speaking when in doubt (a finished answer is scored "
            "half a second after your last word)",
        )
        p.add_argument(
            "--no-turn-model",
            action="store_true",
            help="judge the end of an answer by silence and content only (no Smart Turn)",
        )
        p.add_argument(
            "--no-nudge",
            action="store_true",
            help='no "Anything to add?" after a long silence: the answer just ends',
        )
        p.add_argument(
            "--no-barge-in",
            action="store_true",
            help="mute the microphone while the interviewer speaks (default: it listens, with "
            "the interviewer's echo cancelled, and the interviewer stops when you talk)",
        )
        p.add_argument(
            "--max-answer-s", type=float, default=d.max_answer_s, help="longest answer, seconds"
        )
        p.add_argument("--no-follow-up", action="store_true", help="no follow-up questions")
        p.add_argument("--no-captions", action="store_true", help="no live captions")
        p.add_argument("--plain", action="store_true", help="plain text output, no live display")

    p = add_command(
        "practice", help="a spoken mock interview at the microphone", formatter_class=fmt
    )
    add_interview(p)
    p.add_argument("--input-device", metavar="X", help="microphone (index or name)")
    p.add_argument("--output-device", metavar="Y", help="speaker (index or name)")
    p.add_argument("--resume", metavar="SESSION", help="continue a session (folder or id)")

    p = add_command(
        "demo",
        help="a whole mock interview with a simulated candidate (no microphone)",
        formatter_class=fmt,
    )
    add_interview(p)
    p.add_argument("--play", action="store_true", help="play the interviewer on the speakers")

    p = add_command(
        "replay",
        help="play a saved session with its transcript and scores; --rescore scores it again",
        formatter_class=fmt,
    )
    p.add_argument("session", metavar="SESSION", help="session folder, or its id in --sessions-dir")
    p.add_argument("--sessions-dir", default=DEFAULT_SESSIONS_DIR, help="where sessions are")
    p.add_argument("--question", type=int, metavar="N", help="only question N (from 1, as q01-)")
    p.add_argument("--no-audio", action="store_true", help="print, do not play")
    p.add_argument(
        "--rescore",
        action="store_true",
        help="transcribe and score again with today's model, bank and evaluator; stored as a "
        "new version, the original kept",
    )
    p.add_argument("--model", help="ASR model for --rescore (default: the session's model)")
    p.add_argument("--output-device", metavar="Y", help="speaker (index or name)")
    p.add_argument("--plain", action="store_true", help="plain text output, no live highlight")

    p = add_command(
        "report",
        help="one self-contained HTML report of a session, batch results or a sessions folder",
        formatter_class=fmt,
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        help="session (folder or id), results.jsonl, or a folder of sessions",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE.html",
        help="default: report.html in the session folder or next to results.jsonl, "
        "history.html in a sessions folder",
    )
    p.add_argument("--history", action="store_true", help="add progress across sessions")
    p.add_argument(
        "--no-audio", action="store_true", help="leave the recordings out (a much smaller file)"
    )
    p.add_argument(
        "--sessions-dir",
        metavar="DIR",
        help=f"where session ids are looked up (default {DEFAULT_SESSIONS_DIR}) and, with "
        "--history, the sessions to chart (default: the session's own folder)",
    )

    p = add_command(
        "history",
        help="progress across sessions: score per round and question over time",
        formatter_class=fmt,
    )
    p.add_argument("--sessions-dir", default=DEFAULT_SESSIONS_DIR, help="where sessions are")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    return parser


def _add_batch_arguments(p: argparse.ArgumentParser) -> None:
    from voice_interview.batch.run import DEFAULT_OUT_DIR, BatchOptions

    d = BatchOptions()
    p.add_argument("--manifest", metavar="FILE", help="CSV/JSONL: file,question_id[,candidate]")
    p.add_argument("--out", metavar="DIR", help=f"batch results folder (default {DEFAULT_OUT_DIR})")
    p.add_argument(
        "--jobs", type=int, metavar="N", help=f"worker processes (default {d.jobs}, measured)"
    )
    p.add_argument("--resume", action="store_true", help="skip files already scored in --out")
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default=d.engine,
        help="where a batch is scored: this machine, or a Ray cluster (docs/batch.md)",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="the Ray cluster, host:port (default: env RAY_ADDRESS, else a local Ray)",
    )
    p.add_argument(
        "--asr-batch-size",
        type=int,
        default=d.asr_batch_size,
        metavar="N",
        help="speech chunks decoded together (faster-whisper batched pipeline); 0 = off",
    )
    p.add_argument("--max-file-mb", type=float, default=d.max_file_mb, help="larger files fail")
    p.add_argument(
        "--max-duration-s", type=float, default=d.max_duration_s, help="longer recordings fail"
    )


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _cmd_questions(args: argparse.Namespace) -> int:
    from voice_interview.content.banks import load_bank

    bank = load_bank(args.bank)
    if args.json:
        rows = [
            {"id": q.id, "round": q.round_id, "kind": q.kind.value, "text": q.text}
            for q in bank.questions
        ]
        print(json.dumps(rows, indent=2))
    else:
        from voice_interview.report.text import print_questions

        print_questions(_console(), bank)
    return 0


def _cmd_say(args: argparse.Namespace) -> int:
    from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions

    audio = PiperSynthesizer(SpeechOptions(voice=args.voice)).synthesize(args.text)
    if args.output:
        from voice_interview.adapters.audio_files import write_wav

        path = write_wav(audio, args.output)
        print(f"wrote {path} ({audio.duration_s:.1f} s)")
    else:
        from voice_interview.adapters.playback import play

        play(audio)
    return 0


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from voice_interview.content.banks import load_bank
    from voice_interview.pipeline import build_pipeline

    bank = load_bank(args.bank)
    question = bank.question(args.question) if args.question else None
    transcript = build_pipeline(args.model, bank).transcribe_file(args.file, question)
    if args.json:
        print(json.dumps(transcript.to_json_dict(), indent=2))
    else:
        from voice_interview.report.text import print_transcript

        print_transcript(_console(), transcript)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from voice_interview.batch.discover import is_batch
    from voice_interview.content.banks import load_bank

    if (
        args.text is None
        and args.transcript is None
        and is_batch(
            args.paths,
            args.question,
            batch_options_given=bool(
                args.manifest or args.out or args.resume or args.engine != "local"
            )
            or args.jobs is not None,
        )
    ):
        return _cmd_score_batch(args)
    args.file = args.paths[0] if args.paths else None
    sources = [s for s in (args.file, args.text, args.transcript) if s is not None]
    if len(sources) != 1 or args.question is None:
        print(
            "error: score needs --question ID and exactly one of: FILE, --text TEXT, "
            "--transcript FILE.txt; or a batch (PATH..., --manifest FILE)",
            file=sys.stderr,
        )
        return 2
    from voice_interview.pipeline import build_pipeline

    bank = load_bank(args.bank)
    question = bank.question(args.question)
    pipeline = build_pipeline(args.model, bank, _judge_config(args))
    if args.file is not None:
        evaluation = pipeline.score_file(args.file, question)
    else:
        text = args.text
        if args.transcript is not None:
            try:
                text = Path(args.transcript).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise _UsageError(f"{args.transcript}: cannot read transcript ({exc})") from exc
        if not text.strip():
            raise _UsageError(f"{args.transcript or '--text'}: the answer text is empty")
        evaluation = pipeline.score_text(text, question)
    if args.json:
        print(json.dumps(evaluation.to_json_dict(), indent=2))
    else:
        from voice_interview.report.text import print_evaluation, print_transcript

        console = _console()
        print_transcript(console, evaluation.transcript)
        print_evaluation(console, evaluation)
    return 0


def _cmd_score_batch(args: argparse.Namespace) -> int:
    from voice_interview.batch.run import DEFAULT_OUT_DIR, BatchOptions, run_batch
    from voice_interview.batch.view import ConsoleProgress, print_report
    from voice_interview.content.banks import load_bank

    try:
        options = BatchOptions(
            out_dir=Path(args.out or DEFAULT_OUT_DIR),
            jobs=BatchOptions.jobs if args.jobs is None else args.jobs,
            resume=args.resume,
            model=args.model,
            max_file_mb=args.max_file_mb,
            max_duration_s=args.max_duration_s,
            asr_batch_size=args.asr_batch_size,
            engine=args.engine,
            ray_address=args.ray_address,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = run_batch(
        args.paths,
        load_bank(args.bank),
        options,
        question_id=args.question,
        manifest=args.manifest,
        judge=_judge_config(args),
        progress=ConsoleProgress(),
    )
    if args.json:
        print(json.dumps(report.to_json_dict(), indent=2))
    else:
        print_report(_console(), report)
    return report.exit_code


def _judge_config(args: argparse.Namespace) -> JudgeConfig | None:
    from voice_interview.adapters.judge import JudgeConfig

    return JudgeConfig.from_env(base_url=args.judge_url, model=args.judge_model)


def _practice_options(args: argparse.Namespace) -> PracticeOptions:
    from voice_interview.practice.interview import PracticeOptions

    return PracticeOptions(
        round_id=None if args.round == "all" else args.round,
        questions=args.questions,
        per_round=args.per_round,
        shuffle=args.shuffle,
        seed=args.seed,
        model=args.model,
        end_silence_s=args.end_silence_s,
        max_answer_s=args.max_answer_s,
        follow_up=not args.no_follow_up,
        captions=not args.no_captions,
        turn_model=not args.no_turn_model,
        nudge=not args.no_nudge,
        barge_in=not args.no_barge_in,
    )


def _cmd_practice(args: argparse.Namespace) -> int:
    from voice_interview.content.banks import load_bank
    from voice_interview.practice.wiring import run_practice

    bank = load_bank(args.bank)
    options = _practice_options(args)
    if options.round_id:
        bank.round(options.round_id)  # unknown round: one-line error listing the ids
    run_practice(
        bank=bank,
        options=options,
        sessions_dir=Path(args.sessions_dir),
        resume=args.resume,
        input_device=args.input_device,
        output_device=args.output_device,
        plain=args.plain,
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from voice_interview.content.banks import load_bank
    from voice_interview.practice.wiring import run_demo

    bank = load_bank(args.bank)
    options = _practice_options(args)
    if options.round_id:
        bank.round(options.round_id)
    run_demo(
        bank=bank,
        options=options,
        sessions_dir=Path(args.sessions_dir),
        play=args.play,
        plain=args.plain,
    )
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from voice_interview.practice.replay import ReplayOptions, run_replay

    options = ReplayOptions(
        question=args.question, audio=not args.no_audio, rescore=args.rescore, model=args.model
    )
    report = run_replay(
        args.sessions_dir,
        args.session,
        options,
        bank_file=args.bank,
        output_device=args.output_device,
        plain=args.plain,
    )
    return 1 if report.problems else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from voice_interview.content.banks import load_bank
    from voice_interview.report import ReportOptions, build_report, default_output, write_report

    sessions_dir = Path(args.sessions_dir) if args.sessions_dir else None
    report = build_report(
        args.source,
        load_bank(args.bank) if args.bank else None,
        ReportOptions(history=args.history, sessions_dir=sessions_dir, audio=not args.no_audio),
        sessions_dir=sessions_dir or DEFAULT_SESSIONS_DIR,
    )
    path = write_report(report, args.output or default_output(args.source, report))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {report.subtitle}")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from voice_interview.report.history import aggregate, collect_scores, print_history
    from voice_interview.store.sessions import SessionStore

    history = aggregate(*collect_scores(SessionStore(args.sessions_dir)))
    if args.json:
        print(json.dumps(history.to_json_dict(), indent=2))
    else:
        print_history(_console(), history, args.sessions_dir)
    return 0


class _UsageError(VoiceInterviewError):
    pass


_COMMANDS = {
    "questions": _cmd_questions,
    "say": _cmd_say,
    "transcribe": _cmd_transcribe,
    "score": _cmd_score,
    "practice": _cmd_practice,
    "demo": _cmd_demo,
    "replay": _cmd_replay,
    "report": _cmd_report,
    "history": _cmd_history,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    args.debug = getattr(args, "debug", False)  # global options: before or after the command
    args.bank = getattr(args, "bank", None)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return _COMMANDS[args.command](args)
    except VoiceInterviewError as exc:
        if args.debug:
            logger.exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
